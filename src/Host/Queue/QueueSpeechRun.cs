using System.Text;
using Pipeline.Actors.Speech;
using Pipeline.Host.Http;

namespace Pipeline.Host.Queue;

/// <summary>
/// An audio message on the engine, through the transcription endpoint's path (<see cref="SpeechServing"/>): a delta
/// event per text delta (with the tokens generated since the last one), then a final whose choice carries the text and
/// every window's tokens, whose usage counts the decoder prompts and generated tokens, and whose `response` is what the
/// endpoint answers for the message's response_format. Audio and field errors are 400 error events naming the field.
/// </summary>
static class QueueSpeechRun
{
    public static async Task<QueueOutcome> RunAsync(QueueRequest req, QueueSpeech speech, ServerContext server, RequestEventPublisher events)
    {
        var stt = SpeechServing.Bind(server, "queue-" + req.RequestId, req.Priority, everyStep: true);
        TranscriptionResult? result = null;
        try
        {
            await foreach (var o in SpeechServing.Checked(stt.RunAsync(speech.Audio, speech.Params), default).ConfigureAwait(false))
            {
                if (o.Result != null) result = o.Result;
                else if (o.Delta.Length > 0 || o.NewTokenIds.Count > 0)
                    await events.PublishAsync(seq => QueueEvents.WriteDelta(req.RequestId, seq, 0, o.Delta, o.NewTokenIds), QueueEvents.Delta, default).ConfigureAwait(false);
            }
        }
        // GenerationRun's 429 (overloaded) and 503 (shutting down, no worker) are not the message's fault.
        catch (ApiError e) when (e.Status is 429 or 503) { if (e.Status == 429) await Task.Delay(100).ConfigureAwait(false); return QueueOutcome.Abort; }
        catch (ApiError e) { return QueueOutcome.Failed(e.Param == null ? e.Message : $"{e.Message} (field {e.Param})", e.Status); }
        if (result == null || result.FinishReason == "abort" && !server.Engine.Accepting) return QueueOutcome.Abort;

        var r = result;
        var tokens = r.ChunkTokenIds.SelectMany(t => t).ToList();
        var choice = new QueueEvents.Choice(0, r.Text, tokens, r.FinishReason ?? "stop", null);
        var (contentType, body) = SpeechServing.Response(r, speech.ResponseFormat, speech.Params.Task, speech.Params.Temperature);
        return new QueueOutcome(seq => QueueEvents.WriteFinal(req.RequestId, seq, server.ServedModelName, [choice], r.PromptTokens, r.CompletionTokens, w =>
        {
            w.WriteString("task", speech.Params.Task);
            w.WriteString("language", r.Language);
            w.WriteNumber("duration", Math.Round(r.Duration, 3));
            w.WriteString("response_format", speech.ResponseFormat);
            if (contentType == "application/json") { w.WritePropertyName("response"); w.WriteRawValue(body); }
            else w.WriteString("response", Encoding.UTF8.GetString(body));
        }), r.PromptTokens, r.CompletionTokens, r.FinishReason ?? "stop", Counted: true);
    }
}
