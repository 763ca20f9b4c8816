"""Customer-base models: repeat buying, dropout, spend and retention (numpy/scipy only)."""
