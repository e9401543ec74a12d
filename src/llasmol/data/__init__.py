"""SMolInstruct data: raw split files, the official release layout, and building new data."""

from llasmol.data.raw import DataFormatError, RawRecord, iter_raw_records, raw_task_files

__all__ = ["DataFormatError", "RawRecord", "iter_raw_records", "raw_task_files"]
