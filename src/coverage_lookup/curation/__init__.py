"""Reports for curators about the dataset itself (how well its facts are evidenced)."""
