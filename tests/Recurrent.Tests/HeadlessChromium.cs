using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Recurrent.Tests;

/// <summary>
/// Debian's headless Chromium driven through its DevTools protocol (a WebSocket, JSON commands): enough of what
/// Playwright does for the page tests — navigate, evaluate, click with the mouse, type, take a screenshot — without a
/// browser download or a package. One tab; the browser and its profile go away on dispose.
/// </summary>
internal sealed class HeadlessChromium : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _receiver = Task.CompletedTask;
    private int _nextId;

    private HeadlessChromium(Process process, string profile) => (_process, _profile) = (process, profile);

    public static async Task<HeadlessChromium> LaunchAsync(int width = 1100, int height = 720)
    {
        string profile = Directory.CreateTempSubdirectory("chromium").FullName;
        var start = new ProcessStartInfo(ChromiumFactAttribute.Executable)
        {
            UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        foreach (string arg in new[]
                 {
                     "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0", $"--user-data-dir={profile}",
                     $"--window-size={width},{height}", "--hide-scrollbars", "--no-first-run", "--no-default-browser-check",
                     "--disable-extensions", "--disable-background-networking", "--disable-sync", "about:blank",
                 })
            start.ArgumentList.Add(arg);
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var browser = new HeadlessChromium(process, profile);
        try
        {
            // Chromium writes the port it chose, then the browser's path, to DevToolsActivePort in the profile.
            string portFile = Path.Combine(profile, "DevToolsActivePort");
            var clock = Stopwatch.StartNew();
            string[] lines = [];
            while (lines.Length < 2 || lines[0].Length == 0)
            {
                if (process.HasExited) throw new InvalidOperationException($"chromium exited with {process.ExitCode}");
                if (clock.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException("chromium did not open its DevTools port in 60 s");
                await Task.Delay(50);
                try { lines = File.Exists(portFile) ? File.ReadAllLines(portFile) : []; } catch (IOException) { }
            }
            using var http = new HttpClient();
            string? page = null;
            while (page == null)
            {
                var targets = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{lines[0]}/json/list")).RootElement;
                page = targets.EnumerateArray().Where(t => t.GetProperty("type").GetString() == "page")
                    .Select(t => t.GetProperty("webSocketDebuggerUrl").GetString()).FirstOrDefault();
                if (page == null) await Task.Delay(50);
                if (clock.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException("chromium opened no tab in 60 s");
            }
            await browser._socket.ConnectAsync(new Uri(page), CancellationToken.None);
            browser._receiver = Task.Run(browser.Receive);
            await browser.Send("Page.enable");
            await browser.Send("Emulation.setDeviceMetricsOverride", new() { ["width"] = width, ["height"] = height, ["deviceScaleFactor"] = 1, ["mobile"] = false });
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    private async Task Receive()
    {
        var buffer = new byte[1 << 16];
        var message = new MemoryStream();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var result = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (result.MessageType == WebSocketMessageType.Close) break;
                message.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage) continue;
                var root = JsonDocument.Parse(message.ToArray()).RootElement.Clone();
                message.SetLength(0);
                if (root.TryGetProperty("id", out var id) && _pending.TryRemove(id.GetInt32(), out var waiter))
                {
                    if (root.TryGetProperty("error", out var error)) waiter.TrySetException(new InvalidOperationException($"DevTools: {error}"));
                    else waiter.TrySetResult(root.GetProperty("result"));
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException) { }
        foreach (var waiter in _pending.Values) waiter.TrySetException(new InvalidOperationException("the DevTools connection closed"));
    }

    /// <summary>One DevTools command; its result.</summary>
    public async Task<JsonElement> Send(string method, Dictionary<string, object?>? parameters = null)
    {
        int id = Interlocked.Increment(ref _nextId);
        var waiter = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = waiter;
        byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object?> { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new() });
        await _socket.SendAsync(bytes, WebSocketMessageType.Text, true, CancellationToken.None);
        return await waiter.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>A JavaScript expression's value in the page (awaited when it is a promise).</summary>
    public async Task<JsonElement> Evaluate(string expression)
    {
        var result = await Send("Runtime.evaluate", new() { ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = true });
        if (result.TryGetProperty("exceptionDetails", out var error)) throw new InvalidOperationException($"{expression}: {error}");
        var value = result.GetProperty("result");
        return value.TryGetProperty("value", out var v) ? v : default;
    }

    /// <summary>
    /// Polls an expression until it is true; throws with <paramref name="what"/> after the timeout. An evaluation that
    /// a navigation cut short (after a click on a link, the old page's context is gone before the new one exists)
    /// counts as not yet true: it failed one CI run as "Inspected target navigated or closed".
    /// </summary>
    public async Task WaitFor(string expression, string what, double seconds = 60)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            JsonElement value = default;
            try { value = await Evaluate(expression); }
            catch (InvalidOperationException e) when (CutShortByNavigation(e.Message)) { }
            if (value.ValueKind == JsonValueKind.True) return;
            if (clock.Elapsed > TimeSpan.FromSeconds(seconds)) throw new TimeoutException($"waited {seconds} s for {what}");
            await Task.Delay(50);
        }
    }

    private static bool CutShortByNavigation(string message) =>
        message.Contains("Inspected target navigated or closed") || message.Contains("Execution context was destroyed")
        || message.Contains("Cannot find context with specified id");

    public async Task Navigate(string url)
    {
        await Send("Page.navigate", new() { ["url"] = url });
        await WaitFor($"location.href === {JsonSerializer.Serialize(url)} && document.readyState === 'complete'", $"{url} to load");
    }

    /// <summary>A mouse click (press and release of the left button) in the middle of the element.</summary>
    public async Task Click(string selector)
    {
        var box = await Evaluate($$"""
            (() => { const e = document.querySelector({{JsonSerializer.Serialize(selector)}}); if (!e) return null;
                     e.scrollIntoView({block: "center"}); const r = e.getBoundingClientRect();
                     return [r.left + r.width / 2, r.top + r.height / 2]; })()
            """);
        if (box.ValueKind != JsonValueKind.Array) throw new InvalidOperationException($"no element {selector} to click");
        double x = box[0].GetDouble(), y = box[1].GetDouble();
        foreach (string type in new[] { "mouseMoved", "mousePressed", "mouseReleased" })
            await Send("Input.dispatchMouseEvent", new() { ["type"] = type, ["x"] = x, ["y"] = y, ["button"] = "left", ["clickCount"] = 1 });
    }

    /// <summary>Replaces an input's text as typing would: focus, select all, insert.</summary>
    public async Task Type(string selector, string text)
    {
        await Evaluate($"(() => {{ const e = document.querySelector({JsonSerializer.Serialize(selector)}); e.focus(); e.select(); }})()");
        await Send("Input.insertText", new() { ["text"] = text });
    }

    public async Task<byte[]> Screenshot()
    {
        var result = await Send("Page.captureScreenshot", new() { ["format"] = "png" });
        return Convert.FromBase64String(result.GetProperty("data").GetString()!);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try { if (_socket.State == WebSocketState.Open) await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None); }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or InvalidOperationException) { }
        try { await _receiver.WaitAsync(TimeSpan.FromSeconds(5)); } catch (Exception) { }
        _socket.Dispose();
        try { if (!_process.HasExited) _process.Kill(true); } catch (InvalidOperationException) { }
        _process.WaitForExit(10_000);
        _process.Dispose();
        for (int attempt = 0; attempt < 10; attempt++)
        {
            try { Directory.Delete(_profile, true); break; }
            catch (IOException) { await Task.Delay(100); }
        }
    }
}
