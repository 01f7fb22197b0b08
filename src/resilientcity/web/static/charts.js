// Plotly for the charts: the full bundle from the plotly wheel (its versioned URL in the page's
// <meta name="rc-plotly">), loaded once after the map has painted, or on a chart's first use.

let loading = null;

// Load Plotly's script once; resolves to the Plotly object.
export function loadPlotly() {
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      if (window.Plotly) {
        resolve(window.Plotly);
        return;
      }
      const script = document.createElement("script");
      script.src = document.querySelector('meta[name="rc-plotly"]').content;
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => {
        loading = null;
        reject(new Error(`Plotly could not be loaded from ${script.src}`));
      };
      document.head.append(script);
    });
  }
  return loading;
}

// Plotly.react on `el` (an element or its id) once Plotly is there.
export async function plot(el, data, layout, config) {
  const Plotly = await loadPlotly();
  return Plotly.react(el, data, layout, config);
}

// Fit a drawn chart to its element's size (nothing to do before Plotly is loaded).
export function resizePlot(el) {
  if (window.Plotly && el && el.data) window.Plotly.Plots.resize(el);
}
