"""Embedding models. Importing the package sets OpenMP's wait policy before torch loads
(cpu_inference.passive_openmp_wait): the app imports torch only through this package."""

from photomgr.core.models.cpu_inference import passive_openmp_wait

passive_openmp_wait()
