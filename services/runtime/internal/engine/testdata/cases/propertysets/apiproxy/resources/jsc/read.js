// Property sets are flow variables in JavaScript too; a key written with
// escaped blanks (key\ with\ spaces) is read by its unescaped name.
context.setVariable("js.baz", context.getVariable("propertyset.myProps.baz"));
context.setVariable("js.escaped", context.getVariable("propertyset.myProps.key with spaces"));
