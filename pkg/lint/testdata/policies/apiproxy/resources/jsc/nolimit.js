context.setVariable("linted", "true");
