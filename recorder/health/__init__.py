"""Contract health over time: versions (snapshots), the health overview, retention, merging shards, the follower."""
