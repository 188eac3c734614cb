! sciml_stepper.f90 -- a learned stepper written from docs/stepper_artifact.md alone
! (Fortran 2008, the HDF5 Fortran API; no JSON parser, no C code of ours).
!
! Reads a `sciml-stepper` artifact (format_version 2, /tendency kind "tendency"), a state from an
! HDF5 file, advances it NSTEPS steps of the stored Runge-Kutta method and writes the result.
! Everything is computed in double precision; the weights are stored as float32 and converted
! by HDF5 on read.
!
!   usage: sciml_stepper ARTIFACT.h5 INPUT.h5 OUTPUT.h5 NSTEPS
!
!   INPUT.h5   dataset "state": float64, shape (B, n0[, n1[, n2]], C) in C order, channels last
!   OUTPUT.h5  dataset "state":    the state after NSTEPS steps, same shape (written as
!                                  OUTPUT.h5.part, then renamed)
!              dataset "tendency": dz/dt of the input state, same shape
!   Bad input: a one-line message on stderr and exit status 2.
!
! Build (Debian/Ubuntu: apt-get install gfortran libhdf5-dev):
!   gfortran -std=f2008 -O2 -o sciml_stepper sciml_stepper.f90 \
!     -I/usr/include/hdf5/serial -L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5_fortran -lhdf5
! or with the HDF5 compiler wrapper:  h5fc -std=f2008 -O2 -o sciml_stepper sciml_stepper.f90
!
! Array order. The artifact gives every shape in C (row-major) order: a state is (B, n0, n1, n2, C)
! and a 3-D kernel (k, k, k, C_in, C_out), last index fastest. The HDF5 Fortran API hands the same
! bytes to Fortran, whose first index is fastest, so the shapes arrive reversed and no element is
! moved: the state is z(C, n2, n1, n0, B) and the kernel w(C_out, C_in, k, k, k), with Fortran
! spatial dimension p (p = 1 fastest) holding C axis a = ndim - p. This program works in that
! reversed order throughout: every field is a 5-D array x(C, m1, m2, m3, B) (a 1-D stepper has
! m2 = m3 = 1, a 2-D one m3 = 1: no kernel extent, no padding there), the per-axis attributes
! `dx` and `grid_shape` (1-D arrays, read in C axis order) are reversed into Fortran dimensions,
! and shapes in messages are printed in C order again, as h5py and the spec show them. A
! cross-correlation sums over each axis independently, so the reversed order changes nothing
! else; channel vectors are contiguous, which is what the convolution's inner loop wants.

module sciml_stepper_lib
  use, intrinsic :: iso_c_binding, only: c_char, c_f_pointer, c_int, c_loc, c_null_char, c_ptr, c_size_t
  use, intrinsic :: iso_fortran_env, only: error_unit, int64, real64
  use, intrinsic :: ieee_arithmetic, only: ieee_is_finite
  use hdf5
  implicit none
  private
  public :: dp, model_t, load_model, read_state, write_output, tendency, step, die

  integer, parameter :: dp = real64
  integer, parameter :: maxdim = 3

  ! The file being read, named in every message about it.
  character(len=:), allocatable :: source

  type :: string_t
    character(len=:), allocatable :: s
  end type string_t

  type :: conv_t
    real(dp), allocatable :: w(:, :, :, :, :)  ! (C_out, C_in, k1, k2, k3): the artifact's kernel reversed
    real(dp), allocatable :: b(:)              ! (C_out), zeros when use_bias is 0
  end type conv_t

  type, public :: model_t
    integer :: ndim = 0, channels = 0, width = 0, kernel_size = 0, depth = 0
    character(len=:), allocatable :: activation, net_boundary, boundary, integrator
    real(dp) :: dt = 0, boundary_value = 0
    real(dp) :: dx(maxdim) = 1           ! per Fortran spatial dimension p (C axis ndim - p)
    integer(int64) :: grid(maxdim) = 0   ! per Fortran spatial dimension; 0 = any size
    real(dp), allocatable :: state_mean(:), state_std(:), tendency_mean(:), tendency_std(:)
    type(conv_t), allocatable :: conv(:)
  end type model_t

  ! Functions of the C library, through the standard C interoperability of Fortran 2003.
  interface
    pure function c_strlen(s) bind(c, name="strlen") result(n)
      import :: c_ptr, c_size_t
      type(c_ptr), value, intent(in) :: s
      integer(c_size_t) :: n
    end function c_strlen
    function c_rename(old, new) bind(c, name="rename") result(status)
      import :: c_char, c_int
      character(kind=c_char), intent(in) :: old(*), new(*)
      integer(c_int) :: status
    end function c_rename
    ! exit(3): status 2 without the "STOP 2" line (or backtrace) a Fortran STOP prints.
    subroutine c_exit(status) bind(c, name="exit")
      import :: c_int
      integer(c_int), value :: status
    end subroutine c_exit
  end interface

contains

  ! ------------------------------------------------------------------------------ messages

  subroutine die(msg)
    character(len=*), intent(in) :: msg
    write (error_unit, '(a)') 'sciml_stepper: '//msg
    flush (error_unit)
    call c_exit(2_c_int)
  end subroutine die

  pure function itoa(i) result(s)
    integer(int64), intent(in) :: i
    character(len=:), allocatable :: s
    character(len=24) :: buf
    write (buf, '(i0)') i
    s = trim(buf)
  end function itoa

  ! A shape given in Fortran order (as the HDF5 Fortran API reports it), printed in C order.
  pure function c_shape(fdims) result(s)
    integer(hsize_t), intent(in) :: fdims(:)
    character(len=:), allocatable :: s
    integer :: i
    s = '('
    do i = size(fdims), 1, -1
      s = s//itoa(int(fdims(i), int64))
      if (i > 1) s = s//', '
    end do
    if (size(fdims) == 1) s = s//','
    s = s//')'
  end function c_shape

  ! ---------------------------------------------------------------------- HDF5 attributes

  ! Open attribute `name` of `obj`; returns its element count (1 for a scalar dataspace).
  subroutine open_attr(obj, where, name, attr, count)
    integer(hid_t), intent(in) :: obj
    character(len=*), intent(in) :: where, name
    integer(hid_t), intent(out) :: attr
    integer(hsize_t), intent(out) :: count
    integer(hid_t) :: space
    integer :: err
    call h5aopen_f(obj, name, attr, err)
    if (err < 0) call die(source//': missing attribute '//where//name//'; is this a format_version 2 artifact?')
    call h5aget_space_f(attr, space, err)
    call h5sget_simple_extent_npoints_f(space, count, err)
    call h5sclose_f(space, err)
  end subroutine open_attr

  ! Numeric attribute of `n` values, converted by HDF5 to float64.
  function attr_reals(obj, where, name, n) result(v)
    integer(hid_t), intent(in) :: obj
    character(len=*), intent(in) :: where, name
    integer, intent(in) :: n
    real(dp), allocatable, target :: v(:)
    integer(hid_t) :: attr
    integer(hsize_t) :: count
    type(c_ptr) :: buf
    integer :: err
    call open_attr(obj, where, name, attr, count)
    if (count /= n) call die(source//': attribute '//where//name//' expected '//itoa(int(n, int64))// &
                             ' value(s), found '//itoa(int(count, int64)))
    allocate (v(n))
    buf = c_loc(v)
    call h5aread_f(attr, h5kind_to_type(dp, H5_REAL_KIND), buf, err)
    if (err < 0) call die(source//': cannot read attribute '//where//name//' as a number')
    call h5aclose_f(attr, err)
  end function attr_reals

  ! int64 attribute of `n` values.
  function attr_ints(obj, where, name, n) result(v)
    integer(hid_t), intent(in) :: obj
    character(len=*), intent(in) :: where, name
    integer, intent(in) :: n
    integer(int64), allocatable, target :: v(:)
    integer(hid_t) :: attr
    integer(hsize_t) :: count
    type(c_ptr) :: buf
    integer :: err
    call open_attr(obj, where, name, attr, count)
    if (count /= n) call die(source//': attribute '//where//name//' expected '//itoa(int(n, int64))// &
                             ' value(s), found '//itoa(int(count, int64)))
    allocate (v(n))
    buf = c_loc(v)
    call h5aread_f(attr, h5kind_to_type(int64, H5_INTEGER_KIND), buf, err)
    if (err < 0) call die(source//': cannot read attribute '//where//name//' as an integer')
    call h5aclose_f(attr, err)
  end function attr_ints

  integer function attr_int(obj, where, name)
    integer(hid_t), intent(in) :: obj
    character(len=*), intent(in) :: where, name
    integer(int64) :: v(1)
    v = attr_ints(obj, where, name, 1)
    if (abs(v(1)) > huge(1)) call die(source//': attribute '//where//name//' = '//itoa(v(1))//' is out of range')
    attr_int = int(v(1))
  end function attr_int

  ! Variable-length UTF-8 string attribute (scalar or 1-D). HDF5 returns one C pointer per
  ! string (char *); each is copied into a Fortran string, then HDF5 frees its own memory.
  ! The memory type is the attribute's own type: a variable-length string is read as char *.
  function attr_strings(obj, where, name) result(out)
    integer(hid_t), intent(in) :: obj
    character(len=*), intent(in) :: where, name
    type(string_t), allocatable :: out(:)
    type(c_ptr), allocatable, target :: ptrs(:)
    integer(hid_t) :: attr, atype, space
    integer(hsize_t) :: count
    integer :: err, cls, i
    logical :: variable
    type(c_ptr) :: buf
    call open_attr(obj, where, name, attr, count)
    call h5aget_type_f(attr, atype, err)
    call h5tget_class_f(atype, cls, err)
    variable = .false.
    if (cls == H5T_STRING_F) call h5tis_variable_str_f(atype, variable, err)
    if (.not. variable) call die(source//': attribute '//where//name//' expected a variable-length UTF-8 string')
    allocate (ptrs(count), out(count))
    buf = c_loc(ptrs)
    call h5aread_f(attr, atype, buf, err)
    if (err < 0) call die(source//': cannot read string attribute '//where//name)
    do i = 1, int(count)
      out(i)%s = c_string(ptrs(i))
    end do
    call h5aget_space_f(attr, space, err)
    call h5dvlen_reclaim_f(atype, space, H5P_DEFAULT_F, buf, err)
    call h5sclose_f(space, err)
    call h5tclose_f(atype, err)
    call h5aclose_f(attr, err)
  end function attr_strings

  function attr_string(obj, where, name) result(s)
    integer(hid_t), intent(in) :: obj
    character(len=*), intent(in) :: where, name
    character(len=:), allocatable :: s
    type(string_t), allocatable :: v(:)
    v = attr_strings(obj, where, name)
    if (size(v) /= 1) call die(source//': attribute '//where//name//' expected one string, found '// &
                               itoa(int(size(v), int64)))
    s = v(1)%s
  end function attr_string

  function c_string(p) result(s)
    type(c_ptr), intent(in) :: p
    character(len=:), allocatable :: s
    character(kind=c_char), pointer :: chars(:)
    integer :: n, i
    n = int(c_strlen(p))
    call c_f_pointer(p, chars, [n])
    allocate (character(len=n) :: s)
    do i = 1, n
      s(i:i) = chars(i)
    end do
  end function c_string

  ! ------------------------------------------------------------------------ HDF5 datasets

  ! A whole float dataset as float64, flat; `fdims` is the expected shape in Fortran order.
  function read_dataset(file, name, fdims) result(v)
    integer(hid_t), intent(in) :: file
    character(len=*), intent(in) :: name
    integer(hsize_t), intent(in) :: fdims(:)
    real(dp), allocatable, target :: v(:)
    integer(hid_t) :: dset, space, dtype
    integer(hsize_t), allocatable :: dims(:), maxdims(:)
    integer :: err, rank, cls
    logical :: mismatch
    type(c_ptr) :: buf
    call h5dopen_f(file, name, dset, err)
    if (err < 0) call die(source//': missing dataset /'//name)
    call h5dget_type_f(dset, dtype, err)
    call h5tget_class_f(dtype, cls, err)
    call h5tclose_f(dtype, err)
    if (cls /= H5T_FLOAT_F) call die(source//': dataset /'//name//' expected floating point values')
    call h5dget_space_f(dset, space, err)
    call h5sget_simple_extent_ndims_f(space, rank, err)
    allocate (dims(rank), maxdims(rank))
    call h5sget_simple_extent_dims_f(space, dims, maxdims, err)
    call h5sclose_f(space, err)
    mismatch = rank /= size(fdims)
    if (.not. mismatch) mismatch = any(dims /= fdims)
    if (mismatch) call die(source//': dataset /'//name//' has shape '//c_shape(dims)// &
                           ', the architecture needs '//c_shape(fdims))
    allocate (v(product(fdims)))
    buf = c_loc(v)
    call h5dread_f(dset, h5kind_to_type(dp, H5_REAL_KIND), buf, err)
    if (err < 0) call die(source//': cannot read dataset /'//name)
    call h5dclose_f(dset, err)
    if (.not. all(ieee_is_finite(v))) call die(source//': dataset /'//name//' holds NaN or Inf')
  end function read_dataset

  ! --------------------------------------------------------------------------- the model

  subroutine load_model(path, m)
    character(len=*), intent(in) :: path
    type(model_t), intent(out) :: m
    integer(hid_t) :: file, grp
    integer :: err, i, a, c, cin, cout, use_bias
    integer(hsize_t) :: kdims(maxdim)
    integer(int64), allocatable :: grid(:)
    real(dp), allocatable :: dx(:), scalar(:)
    type(string_t), allocatable :: variables(:)
    character(len=:), allocatable :: text
    character(len=16) :: num

    source = path
    call h5fopen_f(path, H5F_ACC_RDONLY_F, file, err)
    if (err < 0) call die('cannot open artifact '//path//' as HDF5')
    text = attr_string(file, '/', 'format')
    if (text /= 'sciml-stepper') call die(path//': attribute /format expected "sciml-stepper", found "'//text//'"')
    i = attr_int(file, '/', 'format_version')
    if (i /= 2) call die(path//': format_version expected 2, found '//itoa(int(i, int64))// &
                         '; re-export it with `sciml export RUN_DIR --out stepper.h5`')

    call h5gopen_f(file, 'tendency', grp, err)
    if (err < 0) call die(path//': missing group /tendency')
    text = attr_string(grp, '/tendency/', 'kind')
    if (text /= 'tendency') call die(path//': /tendency kind expected "tendency" (the conv -> f -> conv '// &
                                     'family), found "'//text//'"; load this artifact with sciml.load_stepper')
    m%ndim = attr_int(grp, '/tendency/', 'ndim')
    m%channels = attr_int(grp, '/tendency/', 'channels')
    m%width = attr_int(grp, '/tendency/', 'width')
    m%kernel_size = attr_int(grp, '/tendency/', 'kernel_size')
    m%depth = attr_int(grp, '/tendency/', 'depth')
    use_bias = attr_int(grp, '/tendency/', 'use_bias')
    m%activation = attr_string(grp, '/tendency/', 'activation')
    m%net_boundary = attr_string(grp, '/tendency/', 'boundary')
    if (m%ndim < 1 .or. m%ndim > maxdim) call die(path//': /tendency ndim expected 1, 2 or 3, found '// &
                                                 itoa(int(m%ndim, int64)))
    if (m%kernel_size < 1 .or. mod(m%kernel_size, 2) == 0) &
      call die(path//': /tendency kernel_size expected an odd integer >= 1, found '//itoa(int(m%kernel_size, int64)))
    if (m%depth < 1 .or. m%width < 1) call die(path//': /tendency depth and width expected integers >= 1')
    if (use_bias /= 0 .and. use_bias /= 1) &
      call die(path//': /tendency use_bias expected 0 or 1, found '//itoa(int(use_bias, int64)))
    if (attr_int(grp, '/tendency/', 'out_channels') /= m%channels) &
      call die(path//': /tendency out_channels differs from channels')
    select case (m%activation)
    case ('relu', 'gelu', 'tanh', 'swish', 'softplus', 'elu', 'leaky_relu', 'sigmoid', 'identity')
    case default
      call die(path//': unknown activation "'//m%activation//'"')
    end select
    select case (m%net_boundary)
    case ('periodic', 'zero', 'reflect', 'ghost')
    case default
      call die(path//': /tendency boundary expected periodic, zero, reflect or ghost, found "'//m%net_boundary//'"')
    end select
    call h5gclose_f(grp, err)

    scalar = attr_reals(file, '/', 'dt', 1)
    m%dt = scalar(1)
    if (.not. (ieee_is_finite(m%dt) .and. m%dt > 0)) call die(path//': /dt expected a finite time step > 0')
    m%integrator = attr_string(file, '/', 'integrator')
    select case (m%integrator)
    case ('euler', 'rk2', 'ssprk3', 'rk4')
    case default
      call die(path//': /integrator expected euler, rk2, ssprk3 or rk4, found "'//m%integrator//'"')
    end select
    m%boundary = attr_string(file, '/', 'boundary')
    select case (m%boundary)
    case ('periodic', 'dirichlet', 'neumann')
    case default
      call die(path//': /boundary expected periodic, dirichlet or neumann, found "'//m%boundary//'"')
    end select
    scalar = attr_reals(file, '/', 'boundary_value', 1)
    m%boundary_value = scalar(1)
    variables = attr_strings(file, '/', 'variables')
    if (size(variables) /= m%channels) call die(path//': /variables names '//itoa(int(size(variables), int64))// &
                                                ' channels, /tendency channels is '//itoa(int(m%channels, int64)))
    ! Per-axis attributes come in C axis order a = 0 .. ndim-1; Fortran dimension p = ndim - a.
    dx = attr_reals(file, '/', 'dx', m%ndim)
    grid = attr_ints(file, '/', 'grid_shape', m%ndim)
    if (.not. all(ieee_is_finite(dx) .and. dx > 0)) call die(path//': /dx expected finite spacings > 0')
    if (any(grid < 0)) call die(path//': /grid_shape expected point counts >= 0 (0 = any grid)')
    do a = 0, m%ndim - 1
      m%dx(m%ndim - a) = dx(a + 1)
      m%grid(m%ndim - a) = grid(a + 1)
    end do

    c = m%channels
    m%state_mean = read_dataset(file, 'normalization/state_mean', [int(c, hsize_t)])
    m%state_std = read_dataset(file, 'normalization/state_std', [int(c, hsize_t)])
    m%tendency_mean = read_dataset(file, 'normalization/tendency_mean', [int(c, hsize_t)])
    m%tendency_std = read_dataset(file, 'normalization/tendency_std', [int(c, hsize_t)])
    if (any(m%state_std <= 0) .or. any(m%tendency_std <= 0)) &
      call die(path//': normalisation standard deviations must be > 0')

    ! Kernel extents per Fortran spatial dimension: k on the ndim used ones, 1 on the others.
    kdims = 1
    kdims(1:m%ndim) = int(m%kernel_size, hsize_t)
    allocate (m%conv(m%depth))
    do i = 1, m%depth
      write (num, '(i0)') i - 1
      cin = m%width
      cout = m%width
      if (i == 1) cin = c
      if (i == m%depth) cout = c
      ! C-order shape (k, [k, [k,]] C_in, C_out) is (C_out, C_in, k[, k[, k]]) in Fortran.
      m%conv(i)%w = reshape(read_dataset(file, 'tendency/conv_'//trim(num)//'/kernel', &
                                         [int(cout, hsize_t), int(cin, hsize_t), kdims(1:m%ndim)]), &
                            [int(cout, hsize_t), int(cin, hsize_t), kdims])
      if (use_bias == 1) then
        m%conv(i)%b = read_dataset(file, 'tendency/conv_'//trim(num)//'/bias', [int(cout, hsize_t)])
      else
        allocate (m%conv(i)%b(cout))
        m%conv(i)%b = 0
      end if
    end do
    call h5fclose_f(file, err)
  end subroutine load_model

  ! Fewest points per axis the network can evaluate (spec, "Grid").
  integer function min_points(m)
    type(model_t), intent(in) :: m
    select case (m%net_boundary)
    case ('ghost')
      min_points = max(1, m%depth*(m%kernel_size/2))
    case ('reflect')
      min_points = m%kernel_size/2 + 1
    case default
      min_points = 1
    end select
  end function min_points

  ! ------------------------------------------------------------------------------ the state

  ! Read dataset "state" (B, *grid, C) into z(C, m1, m2, m3, B); `fdims` keeps its file shape.
  subroutine read_state(path, m, z, fdims)
    character(len=*), intent(in) :: path
    type(model_t), intent(in) :: m
    real(dp), allocatable, intent(out) :: z(:, :, :, :, :)
    integer(hsize_t), allocatable, intent(out) :: fdims(:)
    integer(hid_t) :: file, dset, space
    integer(hsize_t), allocatable :: maxdims(:)
    integer(hsize_t) :: ext(maxdim)
    integer :: err, rank, p
    character(len=:), allocatable :: want
    real(dp), allocatable, target :: flat(:)
    type(c_ptr) :: buf

    call h5fopen_f(path, H5F_ACC_RDONLY_F, file, err)
    if (err < 0) call die('cannot open input '//path//' as HDF5')
    call h5dopen_f(file, 'state', dset, err)
    if (err < 0) call die(path//': no dataset "state"; write the state as dataset "state" (B, *grid, C)')
    call h5dget_space_f(dset, space, err)
    call h5sget_simple_extent_ndims_f(space, rank, err)
    if (rank /= m%ndim + 2) call die(path//': state expected rank '//itoa(int(m%ndim + 2, int64))// &
                                     ' (B, *grid, C), found rank '//itoa(int(rank, int64)))
    allocate (fdims(rank), maxdims(rank))
    call h5sget_simple_extent_dims_f(space, fdims, maxdims, err)
    call h5sclose_f(space, err)
    ! Fortran order: fdims = (C, n_{ndim-1}, ..., n_0, B).
    if (fdims(1) /= int(m%channels, hsize_t)) &
      call die(path//': state has '//itoa(int(fdims(1), int64))//' channels, the artifact has '// &
               itoa(int(m%channels, int64)))
    ext = 1
    ext(1:m%ndim) = fdims(2:m%ndim + 1)
    if (any(m%grid(1:m%ndim) /= 0 .and. int(ext(1:m%ndim), int64) /= m%grid(1:m%ndim))) then
      want = '(B'
      do p = m%ndim, 1, -1
        want = want//', '//itoa(m%grid(p))
      end do
      want = want//', '//itoa(int(m%channels, int64))//')'
      call die(path//': state shape '//c_shape(fdims)//' differs from the artifact''s grid_shape, which needs '// &
               want//'; use the training grid or export with grid_shape None')
    end if
    if (any(ext(1:m%ndim) < int(min_points(m), hsize_t))) &
      call die(path//': state grid '//c_shape(fdims(2:m%ndim + 1))//' has an axis of fewer than '// &
               itoa(int(min_points(m), int64))//' points, the minimum of a "'//m%net_boundary// &
               '" network of this depth and kernel size; use a finer grid')
    allocate (flat(product(fdims)))
    buf = c_loc(flat)
    call h5dread_f(dset, h5kind_to_type(dp, H5_REAL_KIND), buf, err)
    if (err < 0) call die(path//': cannot read dataset "state" as floating point numbers')
    call h5dclose_f(dset, err)
    call h5fclose_f(file, err)
    z = reshape(flat, [fdims(1), ext, fdims(rank)])
  end subroutine read_state

  subroutine write_output(path, z, dz, fdims)
    character(len=*), intent(in) :: path
    real(dp), intent(in) :: z(:, :, :, :, :), dz(:, :, :, :, :)
    integer(hsize_t), intent(in) :: fdims(:)
    integer(hid_t) :: file
    integer :: err
    character(len=:), allocatable :: tmp
    ! Written next to the output, then renamed: a reader never sees a half-written file.
    tmp = path//'.part'
    call h5fcreate_f(tmp, H5F_ACC_TRUNC_F, file, err)
    if (err < 0) call die('cannot create output '//tmp)
    call write_dataset(file, 'state', z, fdims)
    call write_dataset(file, 'tendency', dz, fdims)
    call h5fclose_f(file, err)
    if (err < 0) call die('cannot write output '//tmp)
    if (c_rename(tmp//c_null_char, path//c_null_char) /= 0) call die('cannot rename '//tmp//' to '//path)
  end subroutine write_output

  ! Same Fortran-order dims as read, hence the same C-order shape in the file.
  subroutine write_dataset(file, name, x, fdims)
    integer(hid_t), intent(in) :: file
    character(len=*), intent(in) :: name
    real(dp), intent(in) :: x(:, :, :, :, :)
    integer(hsize_t), intent(in) :: fdims(:)
    real(dp), allocatable, target :: buf(:)
    integer(hid_t) :: space, dset
    integer :: err
    type(c_ptr) :: ptr
    buf = reshape(x, [size(x)])
    call h5screate_simple_f(size(fdims), fdims, space, err)
    call h5dcreate_f(file, name, H5T_IEEE_F64LE, space, dset, err)
    if (err < 0) call die('cannot create dataset '//name)
    ptr = c_loc(buf)
    call h5dwrite_f(dset, h5kind_to_type(dp, H5_REAL_KIND), ptr, err)
    if (err < 0) call die('cannot write dataset '//name)
    call h5dclose_f(dset, err)
    call h5sclose_f(space, err)
  end subroutine write_dataset

  ! ------------------------------------------------------------------------------- padding

  ! Source index (1 .. n) of padded position `pos` (1 - h .. n + h) of an axis of n cells for a
  ! network padding mode; 0 means a zero.
  pure integer function pad_index(pos, n, mode)
    integer, intent(in) :: pos, n
    character(len=*), intent(in) :: mode
    if (pos >= 1 .and. pos <= n) then
      pad_index = pos
    else if (mode == 'periodic') then
      pad_index = modulo(pos - 1, n) + 1
    else if (mode == 'reflect') then  ! mirror without repeating the edge cell
      if (pos < 1) then
        pad_index = 2 - pos
      else
        pad_index = 2*n - pos
      end if
    else
      pad_index = 0
    end if
  end function pad_index

  ! Pad the ndim used spatial dimensions by h cells per side with a network padding mode.
  function pad(x, h, mode, ndim) result(y)
    real(dp), intent(in) :: x(:, :, :, :, :)
    integer, intent(in) :: h, ndim
    character(len=*), intent(in) :: mode
    real(dp), allocatable :: y(:, :, :, :, :)
    integer :: hp(maxdim), n(maxdim), i1, i2, i3, ib, s1, s2, s3
    n = [size(x, 2), size(x, 3), size(x, 4)]
    hp = 0
    hp(1:ndim) = h
    allocate (y(size(x, 1), n(1) + 2*hp(1), n(2) + 2*hp(2), n(3) + 2*hp(3), size(x, 5)))
    do ib = 1, size(y, 5)
      do i3 = 1, size(y, 4)
        s3 = pad_index(i3 - hp(3), n(3), mode)
        do i2 = 1, size(y, 3)
          s2 = pad_index(i2 - hp(2), n(2), mode)
          do i1 = 1, size(y, 2)
            s1 = pad_index(i1 - hp(1), n(1), mode)
            if (s1 == 0 .or. s2 == 0 .or. s3 == 0) then
              y(:, i1, i2, i3, ib) = 0
            else
              y(:, i1, i2, i3, ib) = x(:, s1, s2, s3, ib)
            end if
          end do
        end do
      end do
    end do
  end function pad

  ! Ghost cells from the physical boundary on Fortran dimension p (C axis ndim - p): h per side.
  ! Ghost j (j = 0 next to the face) = sgn * (interior cell j from that face) + add.
  function extend_axis(x, p, h, boundary, dxp, g) result(y)
    real(dp), intent(in) :: x(:, :, :, :, :)
    integer, intent(in) :: p, h
    character(len=*), intent(in) :: boundary
    real(dp), intent(in) :: dxp, g
    real(dp), allocatable :: y(:, :, :, :, :)
    integer :: n, pos, j, ext(5), i1, i2, i3, ib, s(maxdim), idx(maxdim)
    integer, allocatable :: src(:)
    real(dp), allocatable :: sgn(:), add(:)
    n = size(x, p + 1)
    allocate (src(1 - h:n + h), sgn(1 - h:n + h), add(1 - h:n + h))
    do pos = 1 - h, n + h
      src(pos) = pos
      sgn(pos) = 1
      add(pos) = 0
      if (pos >= 1 .and. pos <= n) cycle
      if (boundary == 'periodic') then
        src(pos) = modulo(pos - 1, n) + 1
        cycle
      end if
      if (pos < 1) then
        j = -pos           ! pos = 0 is the ghost next to the low face
        src(pos) = 1 + j
      else
        j = pos - n - 1    ! pos = n + 1 is the ghost next to the high face
        src(pos) = n - j
      end if
      if (boundary == 'dirichlet') then
        sgn(pos) = -1
        add(pos) = 2*g
      else  ! neumann: g is the outward normal derivative
        add(pos) = (2*j + 1)*dxp*g
      end if
    end do
    ext = shape(x)
    ext(p + 1) = n + 2*h
    allocate (y(ext(1), ext(2), ext(3), ext(4), ext(5)))
    do ib = 1, ext(5)
      do i3 = 1, ext(4)
        do i2 = 1, ext(3)
          do i1 = 1, ext(2)
            idx = [i1, i2, i3]
            pos = idx(p) - h
            s = idx
            s(p) = src(pos)
            y(:, i1, i2, i3, ib) = sgn(pos)*x(:, s(1), s(2), s(3), ib) + add(pos)
          end do
        end do
      end do
    end do
  end function extend_axis

  ! Extend every used axis by h ghost cells, in C axis order (axis 0 first, i.e. p = ndim first);
  ! later axes are extended over the ghost rows already added, which fills the corners.
  function fill_ghost(m, x, h) result(y)
    type(model_t), intent(in) :: m
    real(dp), intent(in) :: x(:, :, :, :, :)
    integer, intent(in) :: h
    real(dp), allocatable :: y(:, :, :, :, :), t(:, :, :, :, :)
    integer :: a, p
    y = x
    do a = 0, m%ndim - 1
      p = m%ndim - a
      t = extend_axis(y, p, h, m%boundary, m%dx(p), m%boundary_value)
      call move_alloc(t, y)
    end do
  end function fill_ghost

  ! ----------------------------------------------------------------- activation, convolution

  ! log(1 + x) and exp(x) - 1 accurate for small |x| (Fortran 2008 has neither intrinsic).
  elemental real(dp) function log1p(x)
    real(dp), intent(in) :: x
    real(dp) :: u
    u = 1 + x
    if (u == 1) then
      log1p = x
    else
      log1p = log(u)*x/(u - 1)
    end if
  end function log1p

  elemental real(dp) function expm1(x)
    real(dp), intent(in) :: x
    real(dp) :: u
    u = exp(x)
    if (u == 1) then
      expm1 = x
    else if (u - 1 == -1) then
      expm1 = -1
    else
      expm1 = (u - 1)*x/log(u)
    end if
  end function expm1

  subroutine activate(x, name)
    real(dp), intent(inout) :: x(:, :, :, :, :)
    character(len=*), intent(in) :: name
    select case (name)
    case ('relu')
      x = max(x, 0.0_dp)
    case ('gelu')  ! exact form
      x = 0.5_dp*x*(1 + erf(x/sqrt(2.0_dp)))
    case ('tanh')
      x = tanh(x)
    case ('swish')  ! x sigmoid(x)
      x = x*0.5_dp*(1 + tanh(0.5_dp*x))
    case ('softplus')
      x = max(x, 0.0_dp) + log1p(exp(-abs(x)))
    case ('elu')
      where (x <= 0) x = expm1(x)
    case ('leaky_relu')
      where (x < 0) x = 0.2_dp*x
    case ('sigmoid')
      x = 0.5_dp*(1 + tanh(0.5_dp*x))
    case ('identity')
    case default
      call die('unknown activation "'//name//'"')
    end select
  end subroutine activate

  ! "Valid" cross-correlation of an already padded field: each axis shrinks by its kernel extent
  ! minus 1. y(o, i) = b(o) + sum_q sum_c w(o, c, q) x(c, i + q), q over the kernel offsets.
  ! For each offset q and each line of the fastest spatial dimension this is one matrix product
  ! w(:, :, q) x(:, line shifted by q): (C_out, C_in) times (C_in, points), both contiguous.
  function conv_valid(cv, x) result(y)
    type(conv_t), intent(in) :: cv
    real(dp), intent(in) :: x(:, :, :, :, :)
    real(dp), allocatable :: y(:, :, :, :, :)
    integer :: cout, k(maxdim), n1, i1, i2, i3, ib, q1, q2, q3
    cout = size(cv%w, 1)
    k = [size(cv%w, 3), size(cv%w, 4), size(cv%w, 5)]
    n1 = size(x, 2) - k(1) + 1
    allocate (y(cout, n1, size(x, 3) - k(2) + 1, size(x, 4) - k(3) + 1, size(x, 5)))
    do ib = 1, size(y, 5)
      do i3 = 1, size(y, 4)
        do i2 = 1, size(y, 3)
          do i1 = 1, n1
            y(:, i1, i2, i3, ib) = cv%b
          end do
          do q3 = 1, k(3)
            do q2 = 1, k(2)
              do q1 = 1, k(1)
                y(:, :, i2, i3, ib) = y(:, :, i2, i3, ib) + &
                                      matmul(cv%w(:, :, q1, q2, q3), x(:, q1:q1 + n1 - 1, i2 + q2 - 1, i3 + q3 - 1, ib))
              end do
            end do
          end do
        end do
      end do
    end do
  end function conv_valid

  ! dz/dt = tendency_std * G((z - state_mean) / state_std) + tendency_mean, per channel.
  function tendency(m, z) result(dz)
    type(model_t), intent(in) :: m
    real(dp), intent(in) :: z(:, :, :, :, :)
    real(dp), allocatable :: dz(:, :, :, :, :), h(:, :, :, :, :), y(:, :, :, :, :)
    integer :: half, layer, c
    logical :: ghost
    half = m%kernel_size/2
    ghost = m%net_boundary == 'ghost'
    if (ghost) then
      h = fill_ghost(m, z, m%depth*half)
    else
      h = z
    end if
    do c = 1, m%channels
      h(c, :, :, :, :) = (h(c, :, :, :, :) - m%state_mean(c))/m%state_std(c)
    end do
    do layer = 1, m%depth
      if (ghost) then  ! "valid": the ghost cells are used up, depth * half of them per side
        y = conv_valid(m%conv(layer), h)
      else
        y = conv_valid(m%conv(layer), pad(h, half, m%net_boundary, m%ndim))
      end if
      if (layer < m%depth) call activate(y, m%activation)
      call move_alloc(y, h)
    end do
    allocate (dz, mold=h)
    do c = 1, m%channels
      dz(c, :, :, :, :) = m%tendency_std(c)*h(c, :, :, :, :) + m%tendency_mean(c)
    end do
  end function tendency

  ! ------------------------------------------------------------------------------ stepping

  function step(m, z) result(z1)
    type(model_t), intent(in) :: m
    real(dp), intent(in) :: z(:, :, :, :, :)
    real(dp), allocatable :: z1(:, :, :, :, :), k1(:, :, :, :, :), k2(:, :, :, :, :), &
                             k3(:, :, :, :, :), k4(:, :, :, :, :), a(:, :, :, :, :), b(:, :, :, :, :)
    real(dp) :: dt
    dt = m%dt
    select case (m%integrator)
    case ('euler')
      z1 = z + dt*tendency(m, z)
    case ('rk2')  ! Heun
      k1 = tendency(m, z)
      k2 = tendency(m, z + dt*k1)
      z1 = z + dt/2*(k1 + k2)
    case ('ssprk3')  ! Shu-Osher
      a = z + dt*tendency(m, z)
      b = 0.75_dp*z + 0.25_dp*(a + dt*tendency(m, a))
      z1 = z/3 + 2.0_dp/3*(b + dt*tendency(m, b))
    case ('rk4')
      k1 = tendency(m, z)
      k2 = tendency(m, z + dt/2*k1)
      k3 = tendency(m, z + dt/2*k2)
      k4 = tendency(m, z + dt*k3)
      z1 = z + dt/6*(k1 + 2*k2 + 2*k3 + k4)
    case default
      call die('unknown integrator "'//m%integrator//'"')
    end select
  end function step

end module sciml_stepper_lib

program sciml_stepper
  use sciml_stepper_lib
  use hdf5, only: h5open_f, h5close_f, h5eset_auto_f, hsize_t
  use, intrinsic :: iso_fortran_env, only: int64
  implicit none
  type(model_t) :: m
  real(dp), allocatable :: z(:, :, :, :, :), dz(:, :, :, :, :)
  integer(hsize_t), allocatable :: fdims(:)
  character(len=:), allocatable :: artifact, input, output, text
  integer(int64) :: nsteps, s
  integer :: err, ios

  if (command_argument_count() /= 4) then
    call die('usage: sciml_stepper ARTIFACT.h5 INPUT.h5 OUTPUT.h5 NSTEPS')
  end if
  artifact = argument(1)
  input = argument(2)
  output = argument(3)
  text = argument(4)
  read (text, *, iostat=ios) nsteps
  if (ios /= 0 .or. nsteps < 0) call die('NSTEPS expected an integer >= 0, found "'//text//'"')

  call h5open_f(err)
  if (err < 0) call die('cannot initialise the HDF5 library')
  call h5eset_auto_f(0, err)  ! errors are reported by this program, one line each
  call load_model(artifact, m)
  call read_state(input, m, z, fdims)
  dz = tendency(m, z)
  do s = 1, nsteps
    z = step(m, z)
  end do
  call write_output(output, z, dz, fdims)
  call h5close_f(err)

contains

  function argument(i) result(arg)
    integer, intent(in) :: i
    character(len=:), allocatable :: arg
    integer :: n
    call get_command_argument(i, length=n)
    allocate (character(len=n) :: arg)
    call get_command_argument(i, arg)
  end function argument

end program sciml_stepper
