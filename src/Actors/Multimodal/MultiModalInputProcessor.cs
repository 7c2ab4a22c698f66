using System.Security.Cryptography;
using Pipeline.Actors.Engine;
using Pipeline.Models.Multimodal;

namespace Pipeline.Actors.Multimodal;

/// <summary>
/// The preprocessing stage's work for one request (vLLM's multimodal processor): fetch each image (concurrently,
/// asynchronously), decode it, run the model's image processor, hash its pixels, expand its placeholder tokens and
/// return the request with its prompt expanded and one <see cref="MultiModalFeature"/> per image. Decoding and
/// processing run on the thread pool, never on an actor's or the engine's thread.
/// </summary>
public sealed class MultiModalInputProcessor(ImagePlaceholders? placeholders, MediaConnector media, int maxModelLen)
{
    public MediaOptions Options => media.Options;
    public ImagePlaceholders? Placeholders => placeholders;

    public async Task<Request> ProcessAsync(Request request, IReadOnlyList<ImageInput> images, bool maxTokensFillContext = false, CancellationToken ct = default)
    {
        if (images.Count == 0)
        {
            if (placeholders != null && request.PromptTokenIds.Contains(placeholders.ImageTokenId))
                throw new MediaException($"the prompt has image placeholder token(s) (id {placeholders.ImageTokenId}) but no image was given");
            return request;
        }
        if (placeholders == null)
            throw new MediaException("this model does not take images (no vision-language architecture or image processor config)");
        if (images.Count > Options.LimitImagesPerPrompt)
            throw new MediaException($"too many images: {images.Count} in one prompt, the limit is {Options.LimitImagesPerPrompt} (--limit-mm-per-prompt)");
        var processed = await Task.WhenAll(images.Select((img, i) => ProcessOneAsync(img, images.Count == 1 ? null : i, ct))).ConfigureAwait(false);
        var (ids, ranges) = placeholders.Expand(request.PromptTokenIds, processed.Select(p => p.Image).ToList());
        var sp = maxTokensFillContext ? request.SamplingParams with { MaxTokens = Math.Max(1, maxModelLen - ids.Length) } : request.SamplingParams;
        InputProcessor.CheckLength(ids.Length, sp, maxModelLen);
        var features = processed.Select((p, i) => new MultiModalFeature(p.Hash, ranges[i].Offset, ranges[i].Length, p.Image) { IsEmbed = ranges[i].IsEmbed }).ToList();
        return new Request(request.RequestId, ids, sp, request.EosTokenIds, request.ArrivalTime,
            request.Priority, request.CacheSalt, request.LoraId, features, request.LoraRequest);
    }

    async Task<(ProcessedImage Image, string Hash)> ProcessOneAsync(ImageInput input, int? index, CancellationToken ct)
    {
        try
        {
            byte[] bytes;
            if (input.Bytes is ReadOnlyMemory<byte> b)
            {
                if (b.Length > Options.MaxImageBytes)
                    throw new MediaException($"image is too large: {b.Length} bytes, more than the limit of {Options.MaxImageBytes}");
                bytes = b.ToArray();
            }
            else if (input.Url is string url) bytes = await media.FetchAsync(url, ct).ConfigureAwait(false);
            else throw new MediaException("image has neither a URL nor bytes");
            return await Task.Run(() =>
            {
                var rgb = ImageDecoder.Decode(bytes, Options.MaxImagePixels);
                return (placeholders!.Images.Process(rgb), Hash(rgb));
            }, ct).ConfigureAwait(false);
        }
        catch (MediaException e) when (index != null)
        {
            throw new MediaException($"image {index + 1}: {e.Message}", e);
        }
    }

    /// <summary>SHA-256 of the decoded pixels and their size (as vLLM's MultiModalHasher hashes the decoded image).</summary>
    public static string Hash(RgbImage image)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> size = stackalloc byte[8];
        BitConverter.TryWriteBytes(size, image.Width);
        BitConverter.TryWriteBytes(size[4..], image.Height);
        sha.AppendData(size);
        sha.AppendData(image.Pixels);
        return Convert.ToHexString(sha.GetHashAndReset());
    }
}
