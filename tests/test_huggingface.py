"""One HuggingFace client: a missing key means the same everywhere, and nothing is sent."""

import aiohttp
import pytest

from handler.chat.embeddings import EmbeddingError, HuggingFaceEmbedder
from handler.chat.huggingface import HuggingFace
from handler.chat.model import HuggingFaceModel, ModelError, complete
from tests.standins import huggingface as hf


@pytest.mark.parametrize("key", [None, ""])
async def test_no_key_sends_nothing_from_either_client(make_settings, huggingface, key):
    async def api_key():
        return key

    async with aiohttp.ClientSession() as http:
        client = HuggingFace(http, make_settings(hf_base_url=huggingface.url), api_key)
        with pytest.raises(EmbeddingError, match="no HuggingFace key"):
            await HuggingFaceEmbedder(client).embed("text")
        with pytest.raises(ModelError, match="no HuggingFace key"):
            await complete(
                HuggingFaceModel(client), [{"role": "user", "content": "hi"}], max_tokens=16
            )
    assert huggingface.arrived == []  # not even with "Bearer None"


async def test_both_clients_share_the_router_and_the_key(make_settings, huggingface):
    async def api_key():
        return hf.API_KEY

    settings = make_settings(
        hf_base_url=huggingface.url, hf_model=hf.MAIN_MODEL, hf_fast_model=hf.FAST_MODEL
    )
    async with aiohttp.ClientSession() as http:
        client = HuggingFace(http, settings, api_key)
        vector = await HuggingFaceEmbedder(client).embed("null pointer")
        title = await complete(
            HuggingFaceModel(client),
            [{"role": "system", "content": "a title"}],
            max_tokens=16,
            fast=True,
        )
    assert len(vector) == 384
    assert title == huggingface.title
