"""MAK pools: the key vault, allocation of activations, extra-activation requests, low-water alerts and the usage forecast."""
