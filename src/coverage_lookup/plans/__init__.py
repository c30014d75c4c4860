"""Plan-level data: the CMS public files a user imports (Marketplace PUFs, Medicare Advantage PBP
files), kept in a local store and turned into plan rules for the engine."""
