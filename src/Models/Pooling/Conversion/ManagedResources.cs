using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace Pipeline.Models.Pooling.Conversion;

/// <summary>Reads embedded manifest resources out of a .NET assembly file without loading it.</summary>
public static class ManagedResources
{
    public static IReadOnlyList<string> Names(string assemblyPath)
    {
        using var pe = new PEReader(File.OpenRead(assemblyPath));
        var md = pe.GetMetadataReader();
        return md.ManifestResources.Select(h => md.GetString(md.GetManifestResource(h).Name)).ToList();
    }

    /// <summary>The bytes of the embedded resource named <paramref name="name"/>.</summary>
    public static byte[] Read(string assemblyPath, string name)
    {
        using var pe = new PEReader(File.OpenRead(assemblyPath), PEStreamOptions.PrefetchEntireImage);
        var md = pe.GetMetadataReader();
        foreach (var h in md.ManifestResources)
        {
            var res = md.GetManifestResource(h);
            if (md.GetString(res.Name) != name) continue;
            if (!res.Implementation.IsNil) throw new InvalidDataException($"resource '{name}' of {assemblyPath} is not embedded in the assembly");
            var dir = pe.PEHeaders.CorHeader!.ResourcesDirectory;
            var block = pe.GetSectionData(dir.RelativeVirtualAddress).GetReader(0, dir.Size);
            block.Offset = checked((int)res.Offset);
            int length = block.ReadInt32();
            return block.ReadBytes(length);
        }
        throw new InvalidDataException($"{assemblyPath} has no embedded resource '{name}' (it has: {string.Join(", ", Names(assemblyPath))})");
    }
}
