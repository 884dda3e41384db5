"""One module per benchmark; bench/run runs them in this order."""

ORDER = ["malloc", "callgrind", "enable", "sqlite", "net", "waits", "bandwidth", "delay",
         "events", "clients"]
