"""Captioning: digit strips from real digit scans, and Flickr8k photographs."""
