context.setVariable("proxy.pathsuffix", "/nope");
