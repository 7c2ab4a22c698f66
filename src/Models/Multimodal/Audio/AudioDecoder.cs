using NAudio.Wave;
using NLayer;
using NVorbis;

namespace Pipeline.Models.Multimodal.Audio;

/// <summary>
/// Decodes WAV (PCM 8/16/24/32-bit, IEEE float; NAudio), FLAC (<see cref="FlacDecoder"/>), MP3 (NLayer) and
/// Ogg Vorbis (NVorbis) bytes. The format is found from the bytes, not from a file name. Anything else, empty or
/// truncated input, and audio longer than the limit raise a <see cref="MediaException"/> naming the problem.
/// </summary>
public static class AudioDecoder
{
    public const string Supported = "WAV, FLAC, MP3, OGG (Vorbis)";

    /// <summary>Default ceiling on decoded audio, in seconds (an hour).</summary>
    public const double DefaultMaxSeconds = 3600;

    public static AudioData Decode(byte[] bytes, double maxSeconds = DefaultMaxSeconds)
    {
        if (bytes.Length == 0) throw new MediaException("the audio file is empty (0 bytes)");
        var format = Sniff(bytes) ?? throw new MediaException(
            Unsupported(bytes) is string other
                ? $"unsupported audio format {other} (supported: {Supported})"
                : $"the audio could not be decoded: not a known audio format (supported: {Supported})");
        AudioData audio;
        try
        {
            audio = format switch
            {
                "WAV" => DecodeWav(bytes, maxSeconds),
                "FLAC" => FlacDecoder.Decode(bytes, MaxFrames(maxSeconds, 192000)),
                "OGG" => DecodeVorbis(bytes, maxSeconds),
                _ => DecodeMp3(bytes, maxSeconds),
            };
        }
        catch (MediaException) { throw; }
        catch (Exception e) when (e is EndOfStreamException or IOException or InvalidDataException or FormatException
                                      or ArgumentException or IndexOutOfRangeException or InvalidOperationException
                                      or NotSupportedException or OverflowException)
        {
            throw new MediaException($"the {format} audio could not be decoded ({e.Message})", e);
        }
        if (audio.Frames == 0) throw new MediaException($"the {format} audio has no samples");
        if (audio.Seconds > maxSeconds) throw TooLong(audio.Frames, audio.SampleRate, MaxFrames(maxSeconds, audio.SampleRate));
        return audio;
    }

    /// <summary>The format named by the bytes' signature, or null.</summary>
    public static string? Sniff(ReadOnlySpan<byte> b) =>
        b.Length >= 12 && b.StartsWith("RIFF"u8) && b[8..12].SequenceEqual("WAVE"u8) ? "WAV"
        : b.StartsWith("fLaC"u8) ? "FLAC"
        : b.StartsWith("OggS"u8) ? (Contains(b[..Math.Min(b.Length, 128)], "OpusHead"u8) ? null : "OGG")
        : b.StartsWith("ID3"u8) || (b.Length >= 2 && b[0] == 0xFF && (b[1] & 0xE0) == 0xE0 && (b[1] & 0x06) != 0) ? "MP3"
        : null;

    /// <summary>Names formats that are recognised but not decoded, so the error can say what was sent.</summary>
    static string? Unsupported(ReadOnlySpan<byte> b) =>
        b.StartsWith("OggS"u8) ? "OGG (Opus)"
        : b.Length >= 8 && b[4..8].SequenceEqual("ftyp"u8) ? "MP4/M4A"
        : b.StartsWith(new byte[] { 0x1A, 0x45, 0xDF, 0xA3 }) ? "WebM/Matroska"
        : b.StartsWith("FORM"u8) ? "AIFF"
        : b.StartsWith("#!AMR"u8) ? "AMR"
        : b.Length >= 2 && b[0] == 0xFF && (b[1] & 0xF6) == 0xF0 ? "AAC (ADTS)"
        : b.StartsWith("RIFF"u8) ? "RIFF that is not WAVE"
        : null;

    static bool Contains(ReadOnlySpan<byte> hay, ReadOnlySpan<byte> needle) => hay.IndexOf(needle) >= 0;

    internal static long MaxFrames(double maxSeconds, int rate) => (long)Math.Ceiling(maxSeconds * rate);

    internal static MediaException TooLong(long frames, int rate, long maxFrames) =>
        new($"the audio is too long: {(double)frames / rate:0.##} s, more than the limit of {(double)maxFrames / rate:0.##} s");

    static AudioData DecodeWav(byte[] bytes, double maxSeconds)
    {
        using var reader = new WaveFileReader(new MemoryStream(bytes, writable: false));
        var wf = reader.WaveFormat;
        // WAVE_FORMAT_EXTENSIBLE names the real format in the first two bytes of its sub-format GUID
        int code = wf.Encoding == WaveFormatEncoding.Extensible && wf is WaveFormatExtraData { ExtraData.Length: >= 8 } ed
            ? BitConverter.ToUInt16(ed.ExtraData, 6) : (int)wf.Encoding;
        bool pcm = code == (int)WaveFormatEncoding.Pcm, ieee = code == (int)WaveFormatEncoding.IeeeFloat;
        if (!(pcm && wf.BitsPerSample is 8 or 16 or 24 or 32) && !(ieee && wf.BitsPerSample is 32 or 64))
            throw new MediaException($"unsupported WAV encoding {wf.Encoding} with {wf.BitsPerSample} bits per sample (supported: PCM 8/16/24/32-bit, IEEE float 32/64-bit)");
        long frames = reader.SampleCount;
        if (frames > MaxFrames(maxSeconds, wf.SampleRate)) throw TooLong(frames, wf.SampleRate, MaxFrames(maxSeconds, wf.SampleRate));
        var data = new byte[reader.Length];
        int got = reader.Read(data, 0, data.Length);
        if (got < data.Length || DeclaredDataBytes(bytes) is long declared && declared > got && declared != uint.MaxValue)
            throw new MediaException("the WAV audio is truncated (its data chunk ends before the size its header gives)");
        int width = wf.BitsPerSample / 8, n = got / width;
        var samples = new float[n];
        for (int i = 0, o = 0; i < n; i++, o += width)
            samples[i] = (pcm, width) switch
            {
                (true, 1) => (data[o] - 128) / 128f,
                (true, 2) => BitConverter.ToInt16(data, o) / 32768f,
                (true, 3) => ((data[o] | data[o + 1] << 8 | data[o + 2] << 16) << 8 >> 8) / 8388608f,
                (true, _) => (float)(BitConverter.ToInt32(data, o) / 2147483648.0),
                (false, 4) => BitConverter.ToSingle(data, o),
                _ => (float)BitConverter.ToDouble(data, o),
            };
        int channels = wf.Channels;
        if (channels <= 0) throw new MediaException("the WAV audio has no channels");
        Array.Resize(ref samples, n / channels * channels);
        return new AudioData(samples, wf.SampleRate, channels, "WAV");
    }

    /// <summary>The size the RIFF "data" chunk header gives (NAudio reads what is there without saying it is short).</summary>
    static long? DeclaredDataBytes(byte[] b)
    {
        for (long p = 12; p + 8 <= b.Length;)
        {
            uint size = BitConverter.ToUInt32(b, (int)p + 4);
            if (b.AsSpan((int)p, 4).SequenceEqual("data"u8)) return size;
            p += 8 + size + (size & 1);
        }
        return null;
    }

    static AudioData DecodeMp3(byte[] bytes, double maxSeconds)
    {
        using var mp3 = new MpegFile(new MemoryStream(bytes, writable: false));
        return ReadAll((buf, off, count) => mp3.ReadSamples(buf, off, count), mp3.SampleRate, mp3.Channels, "MP3", maxSeconds);
    }

    static AudioData DecodeVorbis(byte[] bytes, double maxSeconds)
    {
        using var vorbis = new VorbisReader(new MemoryStream(bytes, writable: false), true);
        return ReadAll((buf, off, count) => vorbis.ReadSamples(buf, off, count), vorbis.SampleRate, vorbis.Channels, "OGG", maxSeconds);
    }

    static AudioData ReadAll(Func<float[], int, int, int> read, int rate, int channels, string format, double maxSeconds)
    {
        if (rate <= 0 || channels <= 0) throw new MediaException($"the {format} audio has no valid sample rate or channel count");
        long max = MaxFrames(maxSeconds, rate) * channels;
        var buffer = new float[1 << 16];
        int length = 0;
        while (true)
        {
            if (buffer.Length - length < 8192 * channels) Array.Resize(ref buffer, buffer.Length * 2);
            int got = read(buffer, length, (buffer.Length - length) / channels * channels);
            if (got <= 0) break;
            length += got;
            if (length > max) throw TooLong(length / channels, rate, max / channels);
        }
        Array.Resize(ref buffer, length / channels * channels);
        return new AudioData(buffer, rate, channels, format);
    }
}
