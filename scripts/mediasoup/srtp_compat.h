/*
 * srtp_compat.h - the slice of the libsrtp 3 API that mediasoup's worker uses,
 * implemented on top of libsrtp 2 (Debian 12 ships libsrtp2 2.5, whose header
 * lives at <srtp2/srtp.h>). Written for Flashcast; copied into the worker's
 * include/ directory by scripts/mediasoup/patch-worker.py, which points the
 * worker's `#include <srtp.h>` lines here.
 *
 * Differences bridged:
 *  - libsrtp 3 protects/unprotects out of place,
 *      f(ctx, in, in_len, out, size_t* out_len [, mki_index])
 *    where *out_len is the capacity of `out` on entry; libsrtp 2 works in place,
 *      f(ctx, buf, int* len)
 *    and silently writes up to the auth tag (plus 4 bytes of SRTCP index for
 *    RTCP) past *len. We copy into `out` when needed, check that `out` has room
 *    for exactly that (NOT SRTP_MAX_TRAILER_LEN, which includes a 128-byte MKI
 *    the worker never uses and would reject full-MTU packets in 1500-byte send
 *    buffers), and call the in-place function.
 *  - srtp_remove_stream() was renamed srtp_stream_remove().
 *  - New status codes srtp_err_status_buffer_small / srtp_err_status_cryptex_err.
 */
#ifndef FLASHCAST_SRTP_COMPAT_H
#define FLASHCAST_SRTP_COMPAT_H

#include <srtp2/srtp.h>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if !defined(SRTP_MAX_TAG_LEN) || SRTP_MAX_TAG_LEN != 16
#error "srtp_compat.h expects libsrtp 2 with SRTP_MAX_TAG_LEN == 16"
#endif

/* libsrtp 3 appends these after srtp_err_status_pkt_idx_adv (27). */
static constexpr srtp_err_status_t srtp_err_status_buffer_small = static_cast<srtp_err_status_t>(28);
static constexpr srtp_err_status_t srtp_err_status_cryptex_err  = static_cast<srtp_err_status_t>(29);

namespace flashcast_srtp_compat
{
	/* Bytes libsrtp 2 may append: the auth tag (max 16, AES-GCM). */
	static constexpr size_t RtpTrailerRoom{ SRTP_MAX_TAG_LEN };
	/* RTCP additionally carries the 4-byte E flag + SRTCP index. */
	static constexpr size_t RtcpTrailerRoom{ SRTP_MAX_TAG_LEN + 4 };

	using InPlaceFn = srtp_err_status_t (*)(srtp_t, void*, int*);

	inline srtp_err_status_t Run(
	  InPlaceFn fn,
	  srtp_t ctx,
	  const uint8_t* in,
	  size_t inLen,
	  uint8_t* out,
	  size_t* outLen,
	  size_t extraRoom)
	{
		if (!in || !out || !outLen)
		{
			return srtp_err_status_bad_param;
		}
		if (inLen > static_cast<size_t>(INT_MAX) - extraRoom)
		{
			return srtp_err_status_bad_param;
		}
		if (*outLen < inLen + extraRoom)
		{
			return srtp_err_status_buffer_small;
		}
		if (in != out)
		{
			std::memmove(out, in, inLen);
		}

		int len = static_cast<int>(inLen);
		const srtp_err_status_t err = fn(ctx, out, &len);

		if (err == srtp_err_status_ok)
		{
			*outLen = static_cast<size_t>(len);
		}

		return err;
	}

	inline srtp_err_status_t Protect(
	  srtp_t ctx, const uint8_t* rtp, size_t rtpLen, uint8_t* srtp, size_t* srtpLen, size_t /*mkiIndex*/)
	{
		return Run(::srtp_protect, ctx, rtp, rtpLen, srtp, srtpLen, RtpTrailerRoom);
	}

	inline srtp_err_status_t Unprotect(
	  srtp_t ctx, const uint8_t* srtp, size_t srtpLen, uint8_t* rtp, size_t* rtpLen)
	{
		return Run(::srtp_unprotect, ctx, srtp, srtpLen, rtp, rtpLen, 0);
	}

	inline srtp_err_status_t ProtectRtcp(
	  srtp_t ctx, const uint8_t* rtcp, size_t rtcpLen, uint8_t* srtcp, size_t* srtcpLen, size_t /*mkiIndex*/)
	{
		return Run(::srtp_protect_rtcp, ctx, rtcp, rtcpLen, srtcp, srtcpLen, RtcpTrailerRoom);
	}

	inline srtp_err_status_t UnprotectRtcp(
	  srtp_t ctx, const uint8_t* srtcp, size_t srtcpLen, uint8_t* rtcp, size_t* rtcpLen)
	{
		return Run(::srtp_unprotect_rtcp, ctx, srtcp, srtcpLen, rtcp, rtcpLen, 0);
	}
} // namespace flashcast_srtp_compat

inline srtp_err_status_t srtp_stream_remove(srtp_t session, uint32_t ssrc)
{
	return srtp_remove_stream(session, ssrc);
}

/* Everything below this point that says srtp_protect() etc. gets the libsrtp 3 shape. */
#define srtp_protect        flashcast_srtp_compat::Protect
#define srtp_unprotect      flashcast_srtp_compat::Unprotect
#define srtp_protect_rtcp   flashcast_srtp_compat::ProtectRtcp
#define srtp_unprotect_rtcp flashcast_srtp_compat::UnprotectRtcp

#endif /* FLASHCAST_SRTP_COMPAT_H */
