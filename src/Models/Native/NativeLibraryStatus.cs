namespace Pipeline.Models.Native;

/// <summary>Whether libpipeline_native is in use: where it was found, or why it is not.</summary>
/// <param name="Available">Loaded, with every export resolved and a matching ABI version.</param>
/// <param name="Path">The file found (loaded or not), if any.</param>
/// <param name="Detail">A short reason or description, for `pipeline env` and logs.</param>
public sealed record NativeLibraryStatus(bool Available, string? Path, string Detail)
{
    public override string ToString() => Available ? $"loaded from {Path} ({Detail})" : $"not available ({Detail})";
}
