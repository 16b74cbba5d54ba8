var x = null;
x.boom();
