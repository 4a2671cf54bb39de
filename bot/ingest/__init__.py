"""Stream in and decode: the Hopskotch reader (hop-client), raw messages to typed LVK alerts, GCN circulars and
notices, files given on the command line, and the local broker used by the demo and tests."""
