"""Download the official SMolInstruct release (``data.zip`` of the Hugging Face dataset ``osunlp/SMolInstruct``)."""

from __future__ import annotations

from pathlib import Path

from llasmol.errors import LlasmolError

REPO_ID = "osunlp/SMolInstruct"
FILENAME = "data.zip"


class DownloadError(LlasmolError, RuntimeError):
    """The release could not be fetched; the message says why in one line."""


def download_smolinstruct(dest_dir: Path | str, revision: str | None = None) -> Path:
    """Fetch ``data.zip`` into ``dest_dir`` and return its path; load it with ``load_smolinstruct``."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled

    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        path = hf_hub_download(repo_id=REPO_ID, filename=FILENAME, repo_type="dataset", revision=revision,
                               local_dir=dest)
    except (OfflineModeIsEnabled, LocalEntryNotFoundError) as error:
        raise DownloadError(f"cannot download {REPO_ID}/{FILENAME}: the Hugging Face Hub is unreachable or offline "
                            f"mode is on (HF_HUB_OFFLINE) ({type(error).__name__})") from None
    except (HfHubHTTPError, OSError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DownloadError(f"cannot download {REPO_ID}/{FILENAME}: {reason}") from None
    return Path(path)
