using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace Pipeline.Host.Http;

/// <summary>Starts the web host; an address already in use becomes one clear error (exit 1) instead of a stack trace.</summary>
public static class Listening
{
    public static async Task StartAsync(WebApplication app, string url)
    {
        // Probe first: once Kestrel fails to bind, the host has already logged the failure with its stack trace.
        EnsureFree(url);
        try { await app.StartAsync(); }
        catch (Exception e) when (IsAddressInUse(e))
        {
            throw InUse(url);
        }
    }

    /// <summary>Fails with <see cref="AddressInUseError"/> when something already listens on <paramref name="url"/>'s address.</summary>
    public static void EnsureFree(string url)
    {
        if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && System.Net.IPAddress.TryParse(uri.Host, out var ip) && Taken(new System.Net.IPEndPoint(ip, uri.Port)))
            throw InUse(url);
    }

    static AddressInUseError InUse(string url) =>
        new($"{url} is already in use (another process listens on it): choose another port with --port N, or stop that process");

    static bool Taken(System.Net.IPEndPoint endpoint)
    {
        using var probe = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        // As Kestrel does: a port left in TIME_WAIT is free, one with a listener is not.
        probe.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        try { probe.Bind(endpoint); return false; }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse) { return true; }
        catch (SocketException) { return false; }   // any other failure: let Kestrel report it
    }

    static bool IsAddressInUse(Exception? e)
    {
        for (; e != null; e = e.InnerException)
            if (e is AddressInUseException || e is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse }) return true;
        return false;
    }
}

/// <summary>The address to listen on is taken: reported as one `error:` line, exit code 1.</summary>
public sealed class AddressInUseError(string message) : Exception(message);
