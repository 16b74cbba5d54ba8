var v = context.getVariable('propertyset.gone.k');
