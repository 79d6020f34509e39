"""Running the function on this machine as Lambda would: API Gateway events, the emulator, the layout."""
