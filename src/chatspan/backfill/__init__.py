"""The after-the-fact path: stored chat completions become spans, resumably and losing nothing."""
