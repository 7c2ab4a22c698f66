namespace Pipeline.Actors.Engine;

/// <summary>
/// An audio clip given with a prompt (audio-language models such as Qwen2-Audio): a URL (data:, file:, http(s): as
/// allowed by <see cref="Multimodal.MediaOptions"/>) or the encoded bytes themselves (WAV, FLAC, MP3, Ogg Vorbis).
/// </summary>
public sealed record AudioInput
{
    public string? Url { get; init; }
    public ReadOnlyMemory<byte>? Bytes { get; init; }

    public static AudioInput FromUrl(string url) => new() { Url = url };
    public static AudioInput FromBytes(ReadOnlyMemory<byte> bytes) => new() { Bytes = bytes };
    public static AudioInput FromFile(string path) => new() { Bytes = File.ReadAllBytes(path) };
}
