"""Learning from traffic: path templates, string formats, schema inference, evidence summaries, the observed contract."""
