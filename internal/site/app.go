package site

import (
	"fmt"
	"net/http"
	"strconv"
)

// A single-page app, for --render: the server sends the same shell for
// every route, and what a page holds exists only once its script has run.
//
//	/app/              the shop: its title is set by the script, its links to
//	                   the products added once /app/api/products answers
//	/app/product/N     a client-side route: the shell again; the script
//	                   reads the path, asks /app/api/product/N, and shows the
//	                   product's name (the title) and its price (.price)
//	/app/app.js        the script
//	/app/api/products  the product list, JSON
//	/app/api/product/N product N, JSON
//	/app/xhr/N         a page whose script asks /app/api/ping N times, one
//	                   after another, then adds a link to /app/
//	/app/api/ping      a tiny JSON answer
func appPages(mux *http.ServeMux) {
	mux.HandleFunc("GET /app/{$}", appShell)
	mux.HandleFunc("GET /app/product/{n}", appShell)
	mux.HandleFunc("GET /app/app.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, appScript)
	})
	mux.HandleFunc("GET /app/api/products", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"products": [1, 2, 3, 4, 5]}`)
	})
	mux.HandleFunc("GET /app/api/product/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.PathValue("n"))
		if err != nil || n < 1 || n > 5 {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"name": "Product %d", "price": "%d.99"}`, n, n*10)
	})
	mux.HandleFunc("GET /app/xhr/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.PathValue("n"))
		if err != nil || n < 0 || n > 1000 {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><title>XHR</title></head><body><script>
(async () => {
  for (let i = 0; i < %d; i++) { await fetch('/app/api/ping?i=' + i); }
  const a = document.createElement('a'); a.href = '/app/'; a.textContent = 'done'; document.body.appendChild(a);
  document.title = 'XHR done';
})();
</script></body></html>`, n)
	})
	mux.HandleFunc("GET /app/api/ping", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"pong": true}`)
	})
}

func appShell(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, `<!doctype html><html><head><title>Loading</title><script src="/app/app.js" defer></script></head>
<body><main id="main">Loading…</main></body></html>`)
}

const appScript = `
const main = document.getElementById('main');
const m = location.pathname.match(/^\/app\/product\/(\d+)$/);
if (m) {
  fetch('/app/api/product/' + m[1]).then(r => r.json()).then(p => {
    document.title = p.name;
    main.innerHTML = '<h1></h1><p>Price: <span class="price"></span></p><a href="/app/">All products</a>';
    main.querySelector('h1').textContent = p.name;
    main.querySelector('.price').textContent = p.price;
  });
} else {
  document.title = 'Shop';
  fetch('/app/api/products').then(r => r.json()).then(d => {
    main.textContent = '';
    for (const n of d.products) {
      const a = document.createElement('a');
      a.href = '/app/product/' + n;
      a.textContent = 'Product ' + n;
      main.appendChild(a);
    }
  });
}
`
