"""Publishers: turn archived entries into files other tools serve (Hexo posts, ...)."""
