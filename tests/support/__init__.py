"""What the tests share and are not tests: fakes of the network edges we cannot reach (Discord,
an LLM server), the fast tier's fake embedder and reader, test servers, the bot harness."""
