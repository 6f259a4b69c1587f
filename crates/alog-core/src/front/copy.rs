//! Short copies: the writer and the structured encoder move many pieces of a few bytes
//! (keys, level names, numbers, literals), for which a call to `memcpy` costs more than the
//! copy itself.

/// Copies `n` bytes from `src` to `dst`: up to 16 bytes as two overlapping loads and stores of
/// the widest word that fits, longer runs with `copy_nonoverlapping`.
///
/// # Safety
/// `src` is readable and `dst` writable for `n` bytes, and the two ranges do not overlap.
#[inline(always)]
pub(crate) unsafe fn copy_short(src: *const u8, dst: *mut u8, n: usize) {
    // SAFETY: in every arm, each access is a whole word inside the first or the last `n`
    // bytes of the ranges the caller vouches for (`n >= 8` for the u64 pair, `n >= 4` for the
    // u32 pair, `n >= 1` for the byte moves); unaligned accesses are used throughout.
    unsafe {
        if n > 16 {
            std::ptr::copy_nonoverlapping(src, dst, n);
        } else if n >= 8 {
            let a = src.cast::<u64>().read_unaligned();
            let b = src.add(n - 8).cast::<u64>().read_unaligned();
            dst.cast::<u64>().write_unaligned(a);
            dst.add(n - 8).cast::<u64>().write_unaligned(b);
        } else if n >= 4 {
            let a = src.cast::<u32>().read_unaligned();
            let b = src.add(n - 4).cast::<u32>().read_unaligned();
            dst.cast::<u32>().write_unaligned(a);
            dst.add(n - 4).cast::<u32>().write_unaligned(b);
        } else if n > 0 {
            // 1 to 3 bytes: the first, the middle (n / 2) and the last, some of them the same.
            *dst = *src;
            *dst.add(n / 2) = *src.add(n / 2);
            *dst.add(n - 1) = *src.add(n - 1);
        }
    }
}

/// Copies `n` bytes from `src` to `dst` as [`copy_short`] does, runs of 17 to 256 bytes as
/// 16-byte moves with the last one overlapping (a deferred call's argument words, at most 128
/// bytes), longer runs with `copy_nonoverlapping`.
///
/// # Safety
/// As for [`copy_short`].
#[inline(always)]
pub(crate) unsafe fn copy_small(src: *const u8, dst: *mut u8, n: usize) {
    // SAFETY: every 16-byte move lies within the first `n` bytes of both ranges (`n > 16`);
    // the rest is `copy_short`'s or `copy_nonoverlapping`'s contract, which the caller's meets.
    unsafe {
        if n <= 16 {
            copy_short(src, dst, n);
        } else if n <= 256 {
            let mut i = 0;
            while i + 16 < n {
                dst.add(i)
                    .cast::<[u8; 16]>()
                    .write_unaligned(src.add(i).cast::<[u8; 16]>().read_unaligned());
                i += 16;
            }
            dst.add(n - 16)
                .cast::<[u8; 16]>()
                .write_unaligned(src.add(n - 16).cast::<[u8; 16]>().read_unaligned());
        } else {
            std::ptr::copy_nonoverlapping(src, dst, n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_copies_move_exactly_their_bytes() {
        for n in 0..=40usize {
            let src: Vec<u8> = (1..=n as u8).collect();
            // Guard bytes on both sides must keep their value.
            let mut dst = vec![0xaau8; n + 16];
            // SAFETY: `src` has `n` bytes, `dst[8..]` has `n + 8`; separate allocations.
            unsafe { copy_short(src.as_ptr(), dst.as_mut_ptr().add(8), n) };
            assert_eq!(&dst[8..8 + n], &src[..], "length {n}");
            assert!(dst[..8].iter().all(|&b| b == 0xaa), "length {n}: before");
            assert!(dst[8 + n..].iter().all(|&b| b == 0xaa), "length {n}: after");
        }
    }

    #[test]
    fn small_copies_move_exactly_their_bytes() {
        for n in 0..=300usize {
            let src: Vec<u8> = (0..n).map(|i| (i % 251) as u8 + 1).collect();
            let mut dst = vec![0xaau8; n + 32];
            // SAFETY: `src` has `n` bytes, `dst[16..]` has `n + 16`; separate allocations.
            unsafe { copy_small(src.as_ptr(), dst.as_mut_ptr().add(16), n) };
            assert_eq!(&dst[16..16 + n], &src[..], "length {n}");
            assert!(dst[..16].iter().all(|&b| b == 0xaa), "length {n}: before");
            assert!(
                dst[16 + n..].iter().all(|&b| b == 0xaa),
                "length {n}: after"
            );
        }
    }
}
