"""``hibp_domain``: Have I Been Pwned's domain search, for the organisation's own domains.

Needs an API key (setting ``hibp_api_key``, environment ``LEAKWATCH_HIBP_API_KEY``) and domains
verified on the HIBP dashboard. Each breach that holds addresses of a domain becomes an item whose
content is those addresses, so that the fingerprint index tells which records they belong to. When
the list of addresses of a breach changes, a new item is made for it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from leakwatch.errors import ConfigError
from leakwatch.models import Item, ItemRef
from leakwatch.sources.base import SourceContext, parse_json, problem_shape, sha256
from leakwatch.sources.http import FetchError
from leakwatch.sources.state import SourceState


class HibpDomainParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    domains: list[str] = Field(min_length=1)
    url: str = "https://haveibeenpwned.com/api/v3/breacheddomain/{domain}"


class HibpDomain:
    driver: ClassVar[str] = "hibp_domain"
    Params: ClassVar[type[BaseModel]] = HibpDomainParams

    async def list_new(self, ctx: SourceContext, params: HibpDomainParams, state: SourceState
                       ) -> AsyncIterator[ItemRef]:
        key = ctx.settings.hibp_api_key.get_secret_value()
        if not key:
            raise ConfigError(f"{ctx.spec.origin or ctx.spec.name}: hibp_api_key is not set "
                              "(LEAKWATCH_HIBP_API_KEY)")
        for domain in params.domains:
            url = params.url.format(domain=domain)
            try:
                resp = await ctx.get(url, headers={"hibp-api-key": key}, max_bytes=32 * 1024 * 1024)
            except FetchError as exc:
                if exc.kind == "not_found":
                    continue  # HIBP answers 404 for a domain with no breached address
                raise
            answer = parse_json(url, resp.content, "the answer is not JSON")
            if not isinstance(answer, dict) or any(not isinstance(v, list) for v in answer.values()):
                raise problem_shape(url, "expected an object of alias -> list of breaches")
            by_breach: dict[str, list[str]] = {}
            for alias, breaches in answer.items():
                for breach in breaches:
                    by_breach.setdefault(str(breach), []).append(f"{alias}@{domain}")
            for breach, addresses in sorted(by_breach.items()):
                addresses.sort()
                digest = sha256("\n".join(addresses).encode())[:16]
                ref_key = f"{domain}/{breach}/{digest}"
                if state.seen(ref_key):
                    continue
                yield ItemRef(ctx.spec.name, ref_key, url=f"https://haveibeenpwned.com/PwnedWebsites#{breach}",
                              title=f"{breach}: {len(addresses)} address(es) of {domain}",
                              meta={"addresses": addresses, "breach": breach})

    async def fetch(self, ctx: SourceContext, params: HibpDomainParams, ref: ItemRef) -> Item:
        content = f"breach: {ref.meta['breach']}\n" + "\n".join(ref.meta["addresses"]) + "\n"
        return Item(source=ref.source, key=ref.key, content=content.encode(), url=ref.url, title=ref.title,
                    name="addresses.txt")
