"""The bottom floor: settings, error vocabulary, format readers, sample generator. Imports nothing of ours."""
