namespace Pipeline.Actors.Engine;

/// <summary>
/// An image given with a prompt: a URL (data:, file:, http(s): as allowed by <see cref="Multimodal.MediaOptions"/>) or the
/// encoded bytes themselves (PNG, JPEG, WebP, GIF, BMP).
/// </summary>
public sealed record ImageInput
{
    public string? Url { get; init; }
    public ReadOnlyMemory<byte>? Bytes { get; init; }

    public static ImageInput FromUrl(string url) => new() { Url = url };
    public static ImageInput FromBytes(ReadOnlyMemory<byte> bytes) => new() { Bytes = bytes };
    public static ImageInput FromFile(string path) => new() { Bytes = File.ReadAllBytes(path) };
}
