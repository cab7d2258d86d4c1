package generator

// PGKeywords exposes the key words refused as table names, for the test that
// compares them with the real server.
var PGKeywords = pgKeywords

// ClashIndexBuilds counts the builds of the module-name index.
var ClashIndexBuilds = &clashIndexBuilds
