"""Architectures the zoo defines itself because torchvision lacks them."""
