"""The one judgement engine: does traffic, one exchange or a new contract fit a contract, and how severe is each difference."""
