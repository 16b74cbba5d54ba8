var body = JSON.parse(context.getVariable("response.content"));
body.linted = true;
context.setVariable("response.content", JSON.stringify(body));
