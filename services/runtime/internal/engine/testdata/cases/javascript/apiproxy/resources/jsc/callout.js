var ex = httpClient.get(properties.url + "/called?x=1");
ex.waitForComplete();
var r = ex.getResponse();
context.setVariable("callout.path", JSON.parse(r.content).path);
context.setVariable("callout.status", r.status);
