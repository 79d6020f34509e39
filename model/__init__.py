"""The inference core shared by training and the function: numpy and the standard library only."""
