function greet(name) { return properties.greeting + ", " + name; }
