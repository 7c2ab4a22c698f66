using System.Security.Cryptography;
using Pipeline.Actors.Engine;
using Pipeline.Models.Multimodal;
using Pipeline.Models.Multimodal.Audio;

namespace Pipeline.Actors.Multimodal;

/// <summary>
/// The preprocessing stage's work for one request (vLLM's multimodal processor): fetch each image (concurrently,
/// asynchronously), decode it, run the model's image processor, hash its pixels, expand its placeholder tokens and
/// return the request with its prompt expanded and one <see cref="MultiModalFeature"/> per image. Decoding and
/// processing run on the thread pool, never on an actor's or the engine's thread.
/// </summary>
public sealed class MultiModalInputProcessor(ImagePlaceholders? placeholders, MediaConnector media, int maxModelLen, AudioPlaceholders? audio = null)
{
    public MediaOptions Options => media.Options;
    public ImagePlaceholders? Placeholders => placeholders;
    public AudioPlaceholders? AudioPlaceholders => audio;

    /// <summary>Whether a prompt without media still needs this stage (to refuse placeholder tokens given without their media).</summary>
    public bool ChecksEveryPrompt => placeholders != null || audio != null;

    public Task<Request> ProcessAsync(Request request, IReadOnlyList<ImageInput> images, bool maxTokensFillContext = false, CancellationToken ct = default) =>
        ProcessAsync(request, images, [], maxTokensFillContext, ct);

    /// <summary>The request with its prompt's images and audio clips processed and their placeholders expanded.</summary>
    public Task<Request> ProcessAsync(Request request, PromptInput prompt, CancellationToken ct = default) =>
        ProcessAsync(request, prompt.Images ?? [], prompt.AudioClips ?? [], prompt.MaxTokensFillContext, ct);

    public async Task<Request> ProcessAsync(Request request, IReadOnlyList<ImageInput> images, IReadOnlyList<AudioInput> clips,
        bool maxTokensFillContext = false, CancellationToken ct = default)
    {
        if (images.Count == 0 && placeholders != null && request.PromptTokenIds.Contains(placeholders.ImageTokenId))
            throw new MediaException($"the prompt has image placeholder token(s) (id {placeholders.ImageTokenId}) but no image was given");
        if (clips.Count == 0 && audio != null && request.PromptTokenIds.Contains(audio.AudioTokenId))
            throw new MediaException($"the prompt has audio placeholder token(s) (id {audio.AudioTokenId}) but no audio was given");
        if (images.Count == 0 && clips.Count == 0) return request;
        if (images.Count > 0 && placeholders == null)
            throw new MediaException("this model does not take images (no vision-language architecture or image processor config)");
        if (clips.Count > 0 && audio == null)
            throw new MediaException("this model does not take audio (no audio-language architecture such as Qwen2-Audio)");
        if (images.Count > Options.LimitImagesPerPrompt)
            throw new MediaException($"too many images: {images.Count} in one prompt, the limit is {Options.LimitImagesPerPrompt} (--limit-mm-per-prompt)");
        if (clips.Count > Options.LimitAudioPerPrompt)
            throw new MediaException($"too many audio clips: {clips.Count} in one prompt, the limit is {Options.LimitAudioPerPrompt} (--limit-mm-per-prompt)");
        var processed = await Task.WhenAll(images.Select((img, i) => ProcessOneAsync(img, images.Count == 1 ? null : i, ct))).ConfigureAwait(false);
        var processedClips = await Task.WhenAll(clips.Select((c, i) => ProcessClipAsync(c, clips.Count == 1 ? null : i, ct))).ConfigureAwait(false);
        var ids = request.PromptTokenIds.ToArray();
        var features = new List<MultiModalFeature>();
        if (processed.Length > 0)
        {
            var (expanded, ranges) = placeholders!.Expand(ids, processed.Select(p => p.Image).ToList());
            ids = expanded;
            features.AddRange(processed.Select((p, i) => new MultiModalFeature(p.Hash, ranges[i].Offset, ranges[i].Length, p.Image) { IsEmbed = ranges[i].IsEmbed }));
        }
        if (processedClips.Length > 0)
        {
            // Expanding the clips moves the images' offsets that follow each clip.
            var (expanded, ranges) = audio!.Expand(ids, processedClips);
            features = features.Select(f => f with { Offset = Shifted(f.Offset, ranges) }).ToList();
            ids = expanded;
            features.AddRange(processedClips.Select((c, i) => new MultiModalFeature(c.Hash, ranges[i].Offset, ranges[i].Length, AudioClip: c)));
            features.Sort((a, b) => a.Offset.CompareTo(b.Offset));
        }
        var sp = maxTokensFillContext ? request.SamplingParams with { MaxTokens = Math.Max(1, maxModelLen - ids.Length) } : request.SamplingParams;
        InputProcessor.CheckLength(ids.Length, sp, maxModelLen);
        return new Request(request.RequestId, ids, sp, request.EosTokenIds, request.ArrivalTime,
            request.Priority, request.CacheSalt, request.LoraId, features, request.LoraRequest)
        {
            BidirectionalRanges = placeholders?.BidirectionalRanges(ids.Length,
                features.Where(f => f.Image != null).Select(f => new PlaceholderRange(f.Offset, f.Length, f.IsEmbed)).ToList()) ?? [],
        };
    }

    /// <summary>Where a position before the audio expansion lands after it (each clip's one token became Length tokens).</summary>
    static int Shifted(int offset, PlaceholderRange[] clipRanges)
    {
        int shift = 0; // the growth of the clips before the one looked at
        foreach (var r in clipRanges)
        {
            int o = r.Offset, len = r.Length;
            if (o - shift >= offset) break; // o - shift: where the clip's token was before the expansion
            shift += len - 1;
        }
        return offset + shift;
    }

    async Task<ProcessedAudio> ProcessClipAsync(AudioInput input, int? index, CancellationToken ct)
    {
        try
        {
            byte[] bytes;
            if (input.Bytes is ReadOnlyMemory<byte> b)
            {
                if (b.Length > Options.MaxAudioBytes)
                    throw new MediaException($"audio is too large: {b.Length} bytes, more than the limit of {Options.MaxAudioBytes}");
                bytes = b.ToArray();
            }
            else if (input.Url is string url) bytes = await media.FetchAsync(url, "audio", Options.MaxAudioBytes, ct).ConfigureAwait(false);
            else throw new MediaException("audio has neither a URL nor bytes");
            return await Task.Run(() => audio!.Process(bytes), ct).ConfigureAwait(false);
        }
        catch (MediaException e) when (index != null)
        {
            throw new MediaException($"audio {index + 1}: {e.Message}", e);
        }
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
