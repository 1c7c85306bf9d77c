"""One module per benchmark row; each reads on its own."""
