"""Data layer (installed as ``sciml.datasets``): trajectory files, readers, data sources."""

# --- data pipeline (A1) ---
from sciml.datasets.device_prefetch import MeshPrefetcher as MeshPrefetcher
from sciml.datasets.device_prefetch import batch_sharding as batch_sharding
from sciml.datasets.device_prefetch import prefetch_to_mesh as prefetch_to_mesh
from sciml.datasets.device_prefetch import to_global_array as to_global_array
from sciml.datasets.loader import Loader as Loader
from sciml.datasets.sources import ArraySource as ArraySource
from sciml.datasets.sources import H5Source as H5Source
from sciml.datasets.sources import Source as Source
from sciml.datasets.stats import compute_stats as compute_stats
from sciml.datasets.stats import load_stats as load_stats
from sciml.datasets.stats import save_stats as save_stats
from sciml.datasets.windows import TrajectoryWindows as TrajectoryWindows
from sciml.datasets.xarray_sources import XarraySource as XarraySource

# --- end data pipeline (A1) ---

# --- trajectory files and readers (C) ---
# isort: split
from sciml.datasets.generate import SimulationBlowUpError as SimulationBlowUpError
from sciml.datasets.generate import simulate_to_file as simulate_to_file
from sciml.datasets.open import LAYOUTS as LAYOUTS
from sciml.datasets.open import detect_layout as detect_layout
from sciml.datasets.open import open_trajectories as open_trajectories
from sciml.datasets.read_jaxcfd import read_jaxcfd as read_jaxcfd
from sciml.datasets.read_pdebench import read_pdebench as read_pdebench
from sciml.datasets.read_well import read_well as read_well
from sciml.datasets.trajectory_file import TrajectoryWriter as TrajectoryWriter
from sciml.datasets.trajectory_file import read_trajectories as read_trajectories
from sciml.datasets.trajectory_file import write_trajectories as write_trajectories

# --- end trajectory files and readers (C) ---

# --- N-body files (pm) ---
# isort: split
from sciml.datasets.nbody_file import NbodySource as NbodySource
from sciml.datasets.nbody_file import open_nbody as open_nbody
from sciml.datasets.nbody_file import simulate_nbody_to_file as simulate_nbody_to_file
from sciml.datasets.read_gadget import GadgetSnapshot as GadgetSnapshot
from sciml.datasets.read_gadget import gadget_displacements as gadget_displacements
from sciml.datasets.read_gadget import read_gadget as read_gadget

# --- end N-body files (pm) ---
