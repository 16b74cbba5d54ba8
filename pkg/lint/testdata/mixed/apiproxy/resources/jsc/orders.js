context.setVariable("orders.seen", "true");
