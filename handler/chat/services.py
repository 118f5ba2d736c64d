"""What a chat turn talks to, chosen once per application from the settings.

Web search exists only with a Tavily key (TAVILY_API_KEY, or in the app secret)
and a HuggingFace model: the offline model never searches, so offline
development and tests stay deterministic. Even then a turn searches only while
the platform's `web_search_enabled` setting is on (see web_lookup.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import aiohttp

from handler.background import BackgroundTasks
from handler.chat.embeddings import Embedder, HashingEmbedder, HuggingFaceEmbedder
from handler.chat.huggingface import HuggingFace
from handler.chat.index import PgVectorIndex, VectorIndex
from handler.chat.model import ChatModel, HuggingFaceModel, OfflineModel
from handler.chat.web_search import TavilySearch, WebSearch
from handler.db.pool import Database
from handler.secrets import Secrets
from handler.settings import Settings, SettingsError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ChatServices:
    settings: Settings
    database: Database
    model: ChatModel
    embedder: Embedder
    index: VectorIndex
    background: BackgroundTasks
    web_search: WebSearch | None = None  # None: turns never search (and never ask whether to)


def make_services(
    settings: Settings,
    database: Database,
    http: aiohttp.ClientSession,
    background: BackgroundTasks,
    secrets: Secrets,
) -> ChatServices:
    model: ChatModel
    embedder: Embedder

    async def hf_key() -> str | None:
        return await secrets.app_value("HUGGINGFACE_API_KEY")

    async def pinecone_key() -> str | None:
        return await secrets.app_value("PINECONE_API_KEY")

    async def tavily_key() -> str | None:
        return await secrets.app_value("TAVILY_API_KEY")

    if settings.hf_api_key or settings.app_secrets_arn:
        hf = HuggingFace(http, settings, hf_key)
        model = HuggingFaceModel(hf)
        embedder = HuggingFaceEmbedder(hf)
    else:
        log.warning(
            "OFFLINE MODEL: no HUGGINGFACE_API_KEY is set; chat answers are generated "
            "locally, labelled [Offline model], and are not AI output"
        )
        model = OfflineModel()
        embedder = HashingEmbedder()
    index: VectorIndex
    if settings.pinecone_index_host and (settings.pinecone_api_key or settings.app_secrets_arn):
        try:
            from handler.chat.pinecone_index import PineconeIndex

            index = PineconeIndex(pinecone_key, settings.pinecone_index_host)
        except ImportError:
            raise SettingsError(
                "PINECONE_API_KEY: set, but the pinecone package is not installed "
                "(build the package with `--with pinecone`, or unset it to use pgvector)"
            ) from None
    else:
        index = PgVectorIndex(database)
    web_search: WebSearch | None = None
    if isinstance(model, OfflineModel):
        if settings.tavily_api_key:
            log.warning("web search is off: the offline model never searches")
    elif settings.tavily_api_key or settings.app_secrets_arn:
        web_search = TavilySearch(http, settings, tavily_key)
    return ChatServices(settings, database, model, embedder, index, background, web_search)
