"""Diagnosis (ICD-10-CM) and procedure (CPT/HCPCS) codes."""

from .icd10cm import Icd10Index, IcdStatus, normalize_icd, shared_index
from .procedures import normalize_procedure

__all__ = ["Icd10Index", "IcdStatus", "normalize_icd", "normalize_procedure", "shared_index"]
