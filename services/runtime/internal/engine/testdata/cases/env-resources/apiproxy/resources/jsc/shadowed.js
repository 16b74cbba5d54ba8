// The proxy revision's copy wins over the environment's of the same name.
context.setVariable("request.header.X-Shadow", "proxy");
