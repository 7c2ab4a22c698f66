namespace Pipeline.Models.Multimodal.Audio;

/// <summary>
/// A FLAC decoder (RFC 9639): STREAMINFO, then frames of CONSTANT, VERBATIM, FIXED and LPC subframes with partitioned
/// Rice residuals, wasted bits and the three stereo decorrelations. Written here because NuGet serves no maintained
/// managed FLAC decoder (docs/speech.md). Samples come out as sox and libFLAC give them: value / 2^(bits-1).
/// CRCs and the MD5 are not checked; a stream that ends early or breaks the format raises a MediaException.
/// </summary>
public static class FlacDecoder
{
    static readonly int[] SampleRates = [0, 88200, 176400, 192000, 8000, 16000, 22050, 24000, 32000, 44100, 48000, 96000];

    public static AudioData Decode(byte[] bytes, long maxFrames)
    {
        try { return DecodeCore(bytes, maxFrames); }
        catch (IndexOutOfRangeException) { throw new MediaException("the FLAC audio is truncated (its data ends before its last frame does)"); }
    }

    static AudioData DecodeCore(byte[] bytes, long maxFrames)
    {
        var r = new BitReader(bytes, 4);
        int rate = 0, channels = 0, bps = 0;
        long total = 0;
        bool last = false;
        while (!last)
        {
            last = r.Bits(1) == 1;
            int type = (int)r.Bits(7), length = (int)r.Bits(24);
            if (type == 0)
            {
                r.Bits(16); r.Bits(16); r.Bits(24); r.Bits(24);
                rate = (int)r.Bits(20); channels = (int)r.Bits(3) + 1; bps = (int)r.Bits(5) + 1;
                total = (long)r.Bits(4) << 32 | r.Bits(32);
                r.Skip(16 * 8);
            }
            else r.Skip(length * 8L);
        }
        if (rate == 0 || channels == 0) throw new MediaException("the FLAC audio has no STREAMINFO block");
        if (total > maxFrames) throw AudioDecoder.TooLong(total, rate, maxFrames);
        var outCh = new List<float>[channels];
        for (int c = 0; c < channels; c++) outCh[c] = new List<float>(total > 0 ? (int)total : 1 << 16);
        var block = new int[channels][];
        long frames = 0;
        while (r.BytesLeft >= 2)
        {
            if (r.Peek(14) != 0x3FFE) throw new MediaException("the FLAC audio is corrupt (a frame does not start with its sync code)");
            int n = ReadFrame(r, rate, channels, bps, block, out int frameBps);
            float scale = 1f / (1L << (frameBps - 1));
            for (int c = 0; c < channels; c++)
                for (int i = 0; i < n; i++) outCh[c].Add(block[c][i] * scale);
            frames += n;
            if (frames > maxFrames) throw AudioDecoder.TooLong(frames, rate, maxFrames);
            if (total > 0 && frames >= total) break;
        }
        if (frames == 0) throw new MediaException("the FLAC audio has no audio frames");
        var interleaved = new float[frames * channels];
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < frames; i++) interleaved[i * channels + c] = outCh[c][i];
        return new AudioData(interleaved, rate, channels, "FLAC");
    }

    static int ReadFrame(BitReader r, int streamRate, int streamChannels, int streamBps, int[][] block, out int bps)
    {
        r.Bits(16); // sync, reserved, blocking strategy
        int sizeCode = (int)r.Bits(4), rateCode = (int)r.Bits(4), assignment = (int)r.Bits(4), bpsCode = (int)r.Bits(3);
        r.Bits(1);
        // the frame or sample number, UTF-8 coded
        uint first = r.Bits(8);
        for (uint mask = 0x80; (first & mask) != 0 && mask > 1; mask >>= 1)
            if (mask != 0x80) r.Bits(8);
        int n = sizeCode switch
        {
            1 => 192,
            >= 2 and <= 5 => 576 << (sizeCode - 2),
            6 => (int)r.Bits(8) + 1,
            7 => (int)r.Bits(16) + 1,
            >= 8 => 256 << (sizeCode - 8),
            _ => throw new MediaException("the FLAC audio is corrupt (a frame has a reserved block size)"),
        };
        if (rateCode == 12) r.Bits(8); else if (rateCode is 13 or 14) r.Bits(16);
        else if (rateCode == 15) throw new MediaException("the FLAC audio is corrupt (a frame has an invalid sample rate)");
        bps = bpsCode switch
        {
            0 => streamBps, 1 => 8, 2 => 12, 4 => 16, 5 => 20, 6 => 24, 7 => 32,
            _ => throw new MediaException("the FLAC audio is corrupt (a frame has a reserved sample size)"),
        };
        r.Bits(8); // CRC-8
        int channels = assignment < 8 ? assignment + 1 : 2;
        if (assignment > 10) throw new MediaException("the FLAC audio is corrupt (a frame has a reserved channel assignment)");
        if (channels != streamChannels) throw new MediaException("the FLAC audio is corrupt (a frame's channel count differs from the stream's)");
        for (int c = 0; c < channels; c++)
        {
            if (block[c] == null || block[c].Length < n) block[c] = new int[n];
            bool side = (assignment == 8 && c == 1) || (assignment == 9 && c == 0) || (assignment == 10 && c == 1);
            ReadSubframe(r, block[c], n, bps + (side ? 1 : 0));
        }
        int[] a = channels == 2 ? block[0] : null!, b = channels == 2 ? block[1] : null!;
        switch (assignment)
        {
            case 8: for (int i = 0; i < n; i++) b[i] = a[i] - b[i]; break;
            case 9: for (int i = 0; i < n; i++) a[i] += b[i]; break;
            case 10:
                for (int i = 0; i < n; i++)
                {
                    long mid = ((long)a[i] << 1) | (b[i] & 1L), s = b[i];
                    a[i] = (int)((mid + s) >> 1);
                    b[i] = (int)((mid - s) >> 1);
                }
                break;
        }
        r.AlignToByte();
        r.Bits(16); // CRC-16
        return n;
    }

    static void ReadSubframe(BitReader r, int[] s, int n, int bps)
    {
        if (r.Bits(1) != 0) throw new MediaException("the FLAC audio is corrupt (a subframe's padding bit is set)");
        int type = (int)r.Bits(6);
        int wasted = 0;
        if (r.Bits(1) == 1)
        {
            wasted = 1;
            while (r.Bits(1) == 0) wasted++;
        }
        bps -= wasted;
        if (type == 0)
        {
            int v = r.Signed(bps);
            Array.Fill(s, v, 0, n);
        }
        else if (type == 1)
            for (int i = 0; i < n; i++) s[i] = r.Signed(bps);
        else if (type is >= 8 and <= 12)
        {
            int order = type - 8;
            for (int i = 0; i < order; i++) s[i] = r.Signed(bps);
            Residual(r, s, n, order);
            for (int i = order; i < n; i++)
                s[i] += order switch
                {
                    0 => 0,
                    1 => s[i - 1],
                    2 => 2 * s[i - 1] - s[i - 2],
                    3 => 3 * s[i - 1] - 3 * s[i - 2] + s[i - 3],
                    _ => 4 * s[i - 1] - 6 * s[i - 2] + 4 * s[i - 3] - s[i - 4],
                };
        }
        else if (type >= 32)
        {
            int order = type - 31;
            for (int i = 0; i < order; i++) s[i] = r.Signed(bps);
            int precision = (int)r.Bits(4) + 1;
            if (precision == 16) throw new MediaException("the FLAC audio is corrupt (an LPC subframe has an invalid precision)");
            int shift = r.Signed(5);
            if (shift < 0) throw new MediaException("the FLAC audio is corrupt (an LPC subframe has a negative shift)");
            var coefs = new int[order];
            for (int i = 0; i < order; i++) coefs[i] = r.Signed(precision);
            Residual(r, s, n, order);
            for (int i = order; i < n; i++)
            {
                long sum = 0;
                for (int j = 0; j < order; j++) sum += (long)coefs[j] * s[i - 1 - j];
                s[i] += (int)(sum >> shift);
            }
        }
        else throw new MediaException($"the FLAC audio is corrupt (reserved subframe type {type})");
        if (wasted > 0)
            for (int i = 0; i < n; i++) s[i] <<= wasted;
    }

    static void Residual(BitReader r, int[] s, int n, int order)
    {
        int method = (int)r.Bits(2);
        if (method > 1) throw new MediaException("the FLAC audio is corrupt (reserved residual coding method)");
        int paramBits = method == 0 ? 4 : 5, escape = (1 << paramBits) - 1;
        int partitionOrder = (int)r.Bits(4), partitions = 1 << partitionOrder;
        int i = order;
        for (int p = 0; p < partitions; p++)
        {
            int count = (n >> partitionOrder) - (p == 0 ? order : 0);
            if (count < 0) throw new MediaException("the FLAC audio is corrupt (a residual partition is shorter than the predictor order)");
            int k = (int)r.Bits(paramBits);
            if (k == escape)
            {
                int bits = (int)r.Bits(5);
                for (int j = 0; j < count; j++) s[i++] = bits == 0 ? 0 : r.Signed(bits);
            }
            else
                for (int j = 0; j < count; j++)
                {
                    uint q = r.Unary();
                    uint v = (q << k) | (k == 0 ? 0 : r.Bits(k));
                    s[i++] = (int)(v >> 1) ^ -(int)(v & 1);
                }
        }
    }

    /// <summary>MSB-first bit reader over a byte array; reading past the end raises IndexOutOfRangeException.</summary>
    sealed class BitReader(byte[] data, int startByte)
    {
        long _bit = startByte * 8L;

        public long BytesLeft => data.Length - (_bit + 7) / 8;

        public uint Bits(int count)
        {
            uint v = 0;
            while (count > 0)
            {
                int bytePos = (int)(_bit >> 3), offset = (int)(_bit & 7);
                int take = Math.Min(8 - offset, count);
                uint b = (uint)(data[bytePos] >> (8 - offset - take)) & ((1u << take) - 1);
                v = (v << take) | b;
                _bit += take;
                count -= take;
            }
            return v;
        }

        public int Signed(int count)
        {
            uint v = Bits(count);
            return count == 32 ? (int)v : (int)(v << (32 - count)) >> (32 - count);
        }

        public uint Peek(int count)
        {
            long save = _bit;
            uint v = Bits(count);
            _bit = save;
            return v;
        }

        public uint Unary()
        {
            uint q = 0;
            while (true)
            {
                int bytePos = (int)(_bit >> 3), offset = (int)(_bit & 7);
                int rest = (data[bytePos] << offset) & 0xFF;
                if (rest == 0) { q += (uint)(8 - offset); _bit += 8 - offset; continue; }
                int zeros = System.Numerics.BitOperations.LeadingZeroCount((uint)rest) - 24;
                q += (uint)zeros;
                _bit += zeros + 1;
                return q;
            }
        }

        public void Skip(long bits) => _bit += bits;

        public void AlignToByte() => _bit = (_bit + 7) & ~7L;
    }
}
